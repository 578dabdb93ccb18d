// The plugin library's registration: the one exported symbol, lifeboat_plugin_init.
#include "hive_plugin.h"

LIFEBOAT_REGISTER_PLUGIN(lifeboat::hive::HivePlugin)
