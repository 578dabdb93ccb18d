// The plugin library's registration: the one exported symbol, lifeboat_plugin_init.
#include "localfs_plugin.h"

LIFEBOAT_REGISTER_PLUGIN(lifeboat::localfs::LocalfsPlugin)
