#include "hbase_plugin.h"

LIFEBOAT_REGISTER_PLUGIN(lifeboat::hbase::HBasePlugin)
