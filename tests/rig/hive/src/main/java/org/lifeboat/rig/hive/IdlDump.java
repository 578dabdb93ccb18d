package org.lifeboat.rig.hive;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.thrift.TBase;
import org.apache.thrift.TEnum;
import org.apache.thrift.TFieldIdEnum;
import org.apache.thrift.TFieldRequirementType;
import org.apache.thrift.meta_data.EnumMetaData;
import org.apache.thrift.meta_data.FieldMetaData;
import org.apache.thrift.meta_data.FieldValueMetaData;
import org.apache.thrift.meta_data.ListMetaData;
import org.apache.thrift.meta_data.MapMetaData;
import org.apache.thrift.meta_data.SetMetaData;
import org.apache.thrift.meta_data.StructMetaData;
import org.apache.thrift.protocol.TType;

/**
 * Prints the wire shape of Thrift structs as compiled into this JVM's Hive jars (4.0.1), one
 * field per line: {@code STRUCT ID NAME REQUIREMENT TYPE}. A service method {@code m} is given
 * as {@code ThriftHiveMetastore.m}: its {@code m_args} and {@code m_result} structs are printed
 * (as {@code m.args} and {@code m.result}); {@code FacebookService.m} the same for fb303's
 * methods, which the metastore's service inherits. Lifeboat's test of its own IDL subset
 * (plugins/hive/client/tests/check_idl.py) compares this with {@code thrift --gen json} of the
 * subset, so that every field id and type it sends or keeps matches the server's.
 *
 * <pre>
 *   java -cp rig-hive.jar:lib/* org.lifeboat.rig.hive.IdlDump Table Partition ThriftHiveMetastore.get_table_req
 * </pre>
 *
 * An enum prints {@code ENUM VALUE NAME NUMBER} per constant. Unknown names are printed as
 * {@code NAME MISSING}. Exits 0.
 */
public final class IdlDump {
  private static final String API = "org.apache.hadoop.hive.metastore.api.";
  private static final String FB303 = "com.facebook.fb303.FacebookService$";

  private IdlDump() {}

  public static void main(String[] argv) throws Exception {
    for (String name : argv) {
      if (name.startsWith("ThriftHiveMetastore.")) {
        String m = name.substring("ThriftHiveMetastore.".length());
        dump(m + ".args", API + "ThriftHiveMetastore$" + m + "_args");
        dump(m + ".result", API + "ThriftHiveMetastore$" + m + "_result");
      } else if (name.startsWith("FacebookService.")) {
        // The metastore's service extends fb303's (getVersion and friends).
        String m = name.substring("FacebookService.".length());
        dump(m + ".args", FB303 + m + "_args");
        dump(m + ".result", FB303 + m + "_result");
      } else {
        dump(name, API + name);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void dump(String label, String className) {
    Class<?> any;
    try {
      any = Class.forName(className);
    } catch (ClassNotFoundException e) {
      System.out.println(label + " MISSING");
      return;
    }
    if (any.isEnum() && TEnum.class.isAssignableFrom(any)) {
      for (Object c : any.getEnumConstants()) {
        System.out.println(label + " VALUE " + ((Enum<?>) c).name() + " " + ((TEnum) c).getValue());
      }
      return;
    }
    Class<? extends TBase<?, ?>> cls = (Class<? extends TBase<?, ?>>) any;
    Map<? extends TFieldIdEnum, FieldMetaData> map = FieldMetaData.getStructMetaDataMap(cls);
    List<String> lines = new ArrayList<>();
    for (Map.Entry<? extends TFieldIdEnum, FieldMetaData> e : map.entrySet()) {
      FieldMetaData f = e.getValue();
      lines.add(label + " " + e.getKey().getThriftFieldId() + " " + f.fieldName + " "
          + requirement(f.requirementType) + " " + type(f.valueMetaData));
    }
    if (lines.isEmpty()) {
      lines.add(label + " EMPTY");
    }
    lines.forEach(System.out::println);
  }

  private static String requirement(byte r) {
    switch (r) {
      case TFieldRequirementType.REQUIRED:
        return "required";
      case TFieldRequirementType.OPTIONAL:
        return "optional";
      default:
        return "default";
    }
  }

  /** The IDL spelling of a type: i32, string, binary, list<T>, map<K,V>, a struct or enum name. */
  private static String type(FieldValueMetaData v) {
    if (v instanceof StructMetaData s) {
      return s.structClass.getSimpleName();
    }
    if (v instanceof EnumMetaData en) {
      return en.enumClass.getSimpleName();
    }
    if (v instanceof ListMetaData l) {
      return "list<" + type(l.elemMetaData) + ">";
    }
    if (v instanceof SetMetaData s) {
      return "set<" + type(s.elemMetaData) + ">";
    }
    if (v instanceof MapMetaData m) {
      return "map<" + type(m.keyMetaData) + "," + type(m.valueMetaData) + ">";
    }
    if (v.isTypedef()) {
      // A struct referenced before its definition is recorded by name only.
      if (v.type == TType.STRUCT) {
        return v.getTypedefName();
      }
    }
    switch (v.type) {
      case TType.BOOL:
        return "bool";
      case TType.BYTE:
        return "byte";
      case TType.I16:
        return "i16";
      case TType.I32:
        return "i32";
      case TType.I64:
        return "i64";
      case TType.DOUBLE:
        return "double";
      case TType.STRING:
        return v.isBinary() ? "binary" : "string";
      case TType.VOID:
        return "void";
      default:
        return "ttype" + v.type;
    }
  }
}
