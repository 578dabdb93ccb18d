# lifeboat_add_plugin(NAME <name> SOURCES <src>... [LIBRARIES <lib>...])
#
# Builds the plugin <name> as a MODULE library that links the SDK only, exports nothing
# but lifeboat_plugin_init, and lands in LIFEBOAT_PLUGIN_OUTPUT_DIR together with its
# manifest <name>.plugin.json. The manifest is made from manifest.json.in in the calling
# folder, with @LIFEBOAT_PLUGIN_LIBRARY@ and @LIFEBOAT_PLUGIN_SHA256@ filled in after
# every link, so that the host can check the library it is about to load.
set(LIFEBOAT_PLUGIN_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

function(lifeboat_add_plugin)
  cmake_parse_arguments(P "" "NAME;MANIFEST;OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_MANIFEST)
    set(P_MANIFEST ${CMAKE_CURRENT_SOURCE_DIR}/manifest.json.in)
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${LIFEBOAT_PLUGIN_OUTPUT_DIR})
  endif()
  set(target lifeboat_plugin_${P_NAME})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE lifeboat_sdk ${P_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME lifeboat_${P_NAME}
    PREFIX lib
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Bind the plugin's own symbols inside it and export only the entry point, so that two
  # plugins (or a plugin and the host) never see each other's code.
  target_link_options(${target} PRIVATE
    -Wl,--no-undefined -Wl,-Bsymbolic
    -Wl,--version-script=${LIFEBOAT_PLUGIN_CMAKE_DIR}/plugin.map)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${LIFEBOAT_PLUGIN_CMAKE_DIR}/plugin.map)
  lifeboat_warnings(${target})
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND}
            -DLIBRARY=$<TARGET_FILE:${target}>
            -DTEMPLATE=${P_MANIFEST}
            -DOUTPUT=${P_OUTPUT_DIR}/${P_NAME}.plugin.json
            -P ${LIFEBOAT_PLUGIN_CMAKE_DIR}/WriteManifest.cmake
    VERBATIM)
endfunction()

# lifeboat_add_conformance_test(NAME <plugin> RIG_SOURCES <src>... [LIBRARIES <lib>...]
#                               [LABELS <label>...])
#
# Builds <plugin>_conformance_test from the rig sources (which implement
# lifeboat::testing::ConformanceRig and register it with LIFEBOAT_CONFORMANCE_RIG) and the
# suite, and adds it to ctest with label "conformance". The test loads the plugin through
# the real host from LIFEBOAT_PLUGIN_DIR (default: this build's plugin directory), so the
# same binary can prove an outside build of the plugin.
function(lifeboat_add_conformance_test)
  cmake_parse_arguments(C "" "NAME" "RIG_SOURCES;LIBRARIES;LABELS" ${ARGN})
  set(exe ${C_NAME}_conformance_test)
  add_executable(${exe} ${C_RIG_SOURCES})
  target_link_libraries(${exe} PRIVATE lifeboat_conformance ${C_LIBRARIES} GTest::gtest_main)
  lifeboat_warnings(${exe})
  if(TARGET lifeboat_plugin_${C_NAME})
    add_dependencies(${exe} lifeboat_plugin_${C_NAME})
  endif()
  add_test(NAME ${exe} COMMAND ${exe})
  set_tests_properties(${exe} PROPERTIES
    LABELS "conformance;${C_LABELS}"
    ENVIRONMENT "LIFEBOAT_PLUGIN_DIR=${LIFEBOAT_PLUGIN_OUTPUT_DIR}")
endfunction()
