# cmake -DLIBRARY=... -DTEMPLATE=... -DOUTPUT=... -P WriteManifest.cmake
file(SHA256 ${LIBRARY} LIFEBOAT_PLUGIN_SHA256)
get_filename_component(LIFEBOAT_PLUGIN_LIBRARY ${LIBRARY} NAME)
configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
