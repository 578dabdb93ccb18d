package org.lifeboat.rig.hive;

import java.sql.Connection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.HMSHandler;
import org.apache.hadoop.hive.metastore.MetaStoreEventListenerConstants;
import org.apache.hadoop.hive.metastore.TransactionalMetaStoreEventListener;
import org.apache.hadoop.hive.metastore.api.ColumnStatisticsDesc;
import org.apache.hadoop.hive.metastore.api.Database;
import org.apache.hadoop.hive.metastore.api.Function;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.NotificationEvent;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.events.AddCheckConstraintEvent;
import org.apache.hadoop.hive.metastore.events.AddDefaultConstraintEvent;
import org.apache.hadoop.hive.metastore.events.AddForeignKeyEvent;
import org.apache.hadoop.hive.metastore.events.AddNotNullConstraintEvent;
import org.apache.hadoop.hive.metastore.events.AddPartitionEvent;
import org.apache.hadoop.hive.metastore.events.AddPrimaryKeyEvent;
import org.apache.hadoop.hive.metastore.events.AddUniqueConstraintEvent;
import org.apache.hadoop.hive.metastore.events.AlterDatabaseEvent;
import org.apache.hadoop.hive.metastore.events.AlterPartitionEvent;
import org.apache.hadoop.hive.metastore.events.AlterTableEvent;
import org.apache.hadoop.hive.metastore.events.CreateDatabaseEvent;
import org.apache.hadoop.hive.metastore.events.CreateFunctionEvent;
import org.apache.hadoop.hive.metastore.events.CreateTableEvent;
import org.apache.hadoop.hive.metastore.events.DeletePartitionColumnStatEvent;
import org.apache.hadoop.hive.metastore.events.DeleteTableColumnStatEvent;
import org.apache.hadoop.hive.metastore.events.DropConstraintEvent;
import org.apache.hadoop.hive.metastore.events.DropDatabaseEvent;
import org.apache.hadoop.hive.metastore.events.DropFunctionEvent;
import org.apache.hadoop.hive.metastore.events.DropPartitionEvent;
import org.apache.hadoop.hive.metastore.events.DropTableEvent;
import org.apache.hadoop.hive.metastore.events.InsertEvent;
import org.apache.hadoop.hive.metastore.events.ListenerEvent;
import org.apache.hadoop.hive.metastore.events.UpdatePartitionColumnStatEvent;
import org.apache.hadoop.hive.metastore.events.UpdatePartitionColumnStatEventBatch;
import org.apache.hadoop.hive.metastore.events.UpdateTableColumnStatEvent;
import org.apache.hadoop.hive.metastore.messaging.EventMessage;
import org.apache.hadoop.hive.metastore.messaging.EventMessage.EventType;
import org.apache.hadoop.hive.metastore.messaging.MessageBuilder;
import org.apache.hadoop.hive.metastore.messaging.MessageEncoder;
import org.apache.hadoop.hive.metastore.messaging.MessageFactory;
import org.apache.hadoop.hive.metastore.tools.SQLGenerator;

/**
 * Writes the metastore's notification log, as Hive's DbNotificationListener does on a real
 * cluster. That listener lives in hcatalog, which Maven Central does not serve for 4.0.x, so the
 * standalone metastore has none and {@code get_next_notification} would answer nothing.
 *
 * <p>Each DDL's event is built with the standalone jar's {@link MessageBuilder}, serialised with
 * the encoder that {@code metastore.event.message.factory} names (gzip(json-2.0) by default,
 * json-2.0 with {@code JSONMessageEncoder}), and added through the calling thread's RawStore,
 * inside the DDL's own transaction: the event exists exactly when the change does. The file
 * lists of managed tables (Hive replication's change-manager URIs) are left out; Lifeboat does
 * not read them. ACID events (open/commit/abort, write ids) are not logged: the rig has no
 * transactional tables. No event cleaner runs: tests delete events through the launcher's
 * control file (see {@link HiveRig}).
 *
 * <p>Thread-safety: one instance per metastore (the HMSHandler creates it with that metastore's
 * configuration); called from its handler threads, stateless apart from the encoder.
 */
public final class NotificationLogListener extends TransactionalMetaStoreEventListener {
  private static final String DEFAULT_CATALOG = "hive";
  private final Configuration conf;
  private final MessageEncoder encoder;

  public NotificationLogListener(Configuration conf) {
    super(conf);
    this.conf = conf;
    this.encoder = MessageFactory.getDefaultInstance(conf);
  }

  private static MessageBuilder build() {
    return MessageBuilder.getInstance();
  }

  private static String cat(String name) {
    return name == null || name.isEmpty() ? DEFAULT_CATALOG : name;
  }

  private static String cat(Table t) {
    return cat(t.isSetCatName() ? t.getCatName() : null);
  }

  /** Adds one event to the log in the current transaction and tells later listeners its id. */
  private void log(EventType type, EventMessage msg, String catName, String db, String table,
      ListenerEvent source) throws MetaException {
    int now = (int) Math.min(Integer.MAX_VALUE, System.currentTimeMillis() / 1000);
    NotificationEvent event =
        new NotificationEvent(0, now, type.toString(), encoder.getSerializer().serialize(msg));
    event.setMessageFormat(encoder.getMessageFormat());
    event.setCatName(catName);
    if (db != null) {
      event.setDbName(db);
    }
    if (table != null) {
      event.setTableName(table);
    }
    HMSHandler.getMSForConf(conf).addNotificationEvent(event);
    if (event.isSetEventId()) {
      source.putParameter(MetaStoreEventListenerConstants.DB_NOTIFICATION_EVENT_ID_KEY_NAME,
          Long.toString(event.getEventId()));
    }
  }

  @Override
  public boolean doesAddEventsToNotificationLogTable() {
    return true;
  }

  @Override
  public void onCreateDatabase(CreateDatabaseEvent e) throws MetaException {
    Database db = e.getDatabase();
    log(EventType.CREATE_DATABASE, build().buildCreateDatabaseMessage(db),
        cat(db.getCatalogName()), db.getName(), null, e);
  }

  @Override
  public void onAlterDatabase(AlterDatabaseEvent e) throws MetaException {
    Database before = e.getOldDatabase();
    log(EventType.ALTER_DATABASE, build().buildAlterDatabaseMessage(before, e.getNewDatabase()),
        cat(before.getCatalogName()), before.getName(), null, e);
  }

  @Override
  public void onDropDatabase(DropDatabaseEvent e) throws MetaException {
    Database db = e.getDatabase();
    log(EventType.DROP_DATABASE, build().buildDropDatabaseMessage(db),
        cat(db.getCatalogName()), db.getName(), null, e);
  }

  @Override
  public void onCreateTable(CreateTableEvent e) throws MetaException {
    Table t = e.getTable();
    log(EventType.CREATE_TABLE, build().buildCreateTableMessage(t, null), cat(t), t.getDbName(),
        t.getTableName(), e);
  }

  @Override
  public void onAlterTable(AlterTableEvent e) throws MetaException {
    Table after = e.getNewTable();
    log(EventType.ALTER_TABLE,
        build().buildAlterTableMessage(e.getOldTable(), after, e.getIsTruncateOp(), e.getWriteId()),
        cat(after), after.getDbName(), after.getTableName(), e);
  }

  @Override
  public void onDropTable(DropTableEvent e) throws MetaException {
    Table t = e.getTable();
    log(EventType.DROP_TABLE, build().buildDropTableMessage(t), cat(t), t.getDbName(),
        t.getTableName(), e);
  }

  @Override
  public void onAddPartition(AddPartitionEvent e) throws MetaException {
    Table t = e.getTable();
    log(EventType.ADD_PARTITION,
        build().buildAddPartitionMessage(t, e.getPartitionIterator(), null), cat(t),
        t.getDbName(), t.getTableName(), e);
  }

  @Override
  public void onAlterPartition(AlterPartitionEvent e) throws MetaException {
    Table t = e.getTable();
    log(EventType.ALTER_PARTITION,
        build().buildAlterPartitionMessage(t, e.getOldPartition(), e.getNewPartition(),
            e.getIsTruncateOp(), e.getWriteId()),
        cat(t), t.getDbName(), t.getTableName(), e);
  }

  @Override
  public void onDropPartition(DropPartitionEvent e) throws MetaException {
    Table t = e.getTable();
    log(EventType.DROP_PARTITION, build().buildDropPartitionMessage(t, e.getPartitionIterator()),
        cat(t), t.getDbName(), t.getTableName(), e);
  }

  @Override
  public void onCreateFunction(CreateFunctionEvent e) throws MetaException {
    Function f = e.getFunction();
    log(EventType.CREATE_FUNCTION, build().buildCreateFunctionMessage(f),
        cat(f.isSetCatName() ? f.getCatName() : null), f.getDbName(), null, e);
  }

  @Override
  public void onDropFunction(DropFunctionEvent e) throws MetaException {
    Function f = e.getFunction();
    log(EventType.DROP_FUNCTION, build().buildDropFunctionMessage(f),
        cat(f.isSetCatName() ? f.getCatName() : null), f.getDbName(), null, e);
  }

  @Override
  public void onInsert(InsertEvent e) throws MetaException {
    Table t = e.getTableObj();
    Iterator<String> files =
        e.getFiles() == null ? Collections.emptyIterator() : e.getFiles().iterator();
    log(EventType.INSERT,
        build().buildInsertMessage(t, e.getPartitionObj(), e.isReplace(), files), cat(t),
        t.getDbName(), t.getTableName(), e);
  }

  @Override
  public void onAddPrimaryKey(AddPrimaryKeyEvent e) throws MetaException {
    var cols = e.getPrimaryKeyCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      log(EventType.ADD_PRIMARYKEY, build().buildAddPrimaryKeyMessage(cols),
          cat(c.isSetCatName() ? c.getCatName() : null), c.getTable_db(), c.getTable_name(), e);
    }
  }

  @Override
  public void onAddForeignKey(AddForeignKeyEvent e) throws MetaException {
    var cols = e.getForeignKeyCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      // Hive's listener files a foreign key under the referenced (primary key) table.
      log(EventType.ADD_FOREIGNKEY, build().buildAddForeignKeyMessage(cols),
          cat(c.isSetCatName() ? c.getCatName() : null), c.getPktable_db(),
          c.getPktable_name(), e);
    }
  }

  @Override
  public void onAddUniqueConstraint(AddUniqueConstraintEvent e) throws MetaException {
    var cols = e.getUniqueConstraintCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      log(EventType.ADD_UNIQUECONSTRAINT, build().buildAddUniqueConstraintMessage(cols),
          cat(c.getCatName()), c.getTable_db(), c.getTable_name(), e);
    }
  }

  @Override
  public void onAddNotNullConstraint(AddNotNullConstraintEvent e) throws MetaException {
    var cols = e.getNotNullConstraintCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      log(EventType.ADD_NOTNULLCONSTRAINT, build().buildAddNotNullConstraintMessage(cols),
          cat(c.getCatName()), c.getTable_db(), c.getTable_name(), e);
    }
  }

  @Override
  public void onAddDefaultConstraint(AddDefaultConstraintEvent e) throws MetaException {
    var cols = e.getDefaultConstraintCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      log(EventType.ADD_DEFAULTCONSTRAINT, build().buildAddDefaultConstraintMessage(cols),
          cat(c.getCatName()), c.getTable_db(), c.getTable_name(), e);
    }
  }

  @Override
  public void onAddCheckConstraint(AddCheckConstraintEvent e) throws MetaException {
    var cols = e.getCheckConstraintCols();
    if (!cols.isEmpty()) {
      var c = cols.get(0);
      log(EventType.ADD_CHECKCONSTRAINT, build().buildAddCheckConstraintMessage(cols),
          cat(c.getCatName()), c.getTable_db(), c.getTable_name(), e);
    }
  }

  @Override
  public void onDropConstraint(DropConstraintEvent e) throws MetaException {
    log(EventType.DROP_CONSTRAINT,
        build().buildDropConstraintMessage(e.getDbName(), e.getTableName(), e.getConstraintName()),
        cat(e.getCatName()), e.getDbName(), e.getTableName(), e);
  }

  @Override
  public void onUpdateTableColumnStat(UpdateTableColumnStatEvent e) throws MetaException {
    ColumnStatisticsDesc d = e.getColStats().getStatsDesc();
    log(EventType.UPDATE_TABLE_COLUMN_STAT,
        build().buildUpdateTableColumnStatMessage(e.getColStats(), e.getTableObj(),
            e.getTableParameters(), e.getWriteId()),
        cat(d.isSetCatName() ? d.getCatName() : null), d.getDbName(), d.getTableName(), e);
  }

  @Override
  public void onDeleteTableColumnStat(DeleteTableColumnStatEvent e) throws MetaException {
    log(EventType.DELETE_TABLE_COLUMN_STAT,
        build().buildDeleteTableColumnStatMessage(e.getDBName(), e.getColName()),
        cat(e.getCatName()), e.getDBName(), e.getTableName(), e);
  }

  @Override
  public void onUpdatePartitionColumnStat(UpdatePartitionColumnStatEvent e) throws MetaException {
    ColumnStatisticsDesc d = e.getPartColStats().getStatsDesc();
    log(EventType.UPDATE_PARTITION_COLUMN_STAT,
        build().buildUpdatePartitionColumnStatMessage(e.getPartColStats(), e.getPartVals(),
            e.getPartParameters(), e.getTableObj(), e.getWriteId()),
        cat(d.isSetCatName() ? d.getCatName() : null), d.getDbName(), d.getTableName(), e);
  }

  /** The batch form (direct SQL): one event per partition, as Hive's listener writes them. */
  @Override
  public void onUpdatePartitionColumnStatInBatch(UpdatePartitionColumnStatEventBatch batch,
      Connection dbConn, SQLGenerator sqlGenerator) throws MetaException {
    for (int i = 0; i < batch.getNumEntries(); i++) {
      onUpdatePartitionColumnStat(batch.getPartColStatEvent(i));
    }
  }

  @Override
  public void onDeletePartitionColumnStat(DeletePartitionColumnStatEvent e) throws MetaException {
    List<String> vals = e.getPartVals();
    log(EventType.DELETE_PARTITION_COLUMN_STAT,
        build().buildDeletePartitionColumnStatMessage(e.getDBName(), e.getColName(),
            e.getPartName(), vals),
        cat(e.getCatName()), e.getDBName(), e.getTableName(), e);
  }
}
