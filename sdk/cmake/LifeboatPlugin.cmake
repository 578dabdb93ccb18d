# Building plugins, in this tree and outside it (find_package(Lifeboat CONFIG) includes this
# file; docs/plugin-guide.md shows both).
#
# lifeboat_add_plugin(NAME <name> SOURCES <src>... [LIBRARIES <lib>...] [OUTPUT_DIR <dir>]
#                     [INSTALL_DIR <dir>])
#
# Builds the plugin <name> as a MODULE library that links the SDK only, exports nothing
# but lifeboat_plugin_init, and lands in OUTPUT_DIR (default LIFEBOAT_PLUGIN_OUTPUT_DIR, else
# <build>/plugins) together with its manifest <name>.plugin.json. The manifest is written
# after every link by lifeboat-plugin-manifest from what the library's Describe() says (name,
# version, component, ABI, capabilities) and the library's SHA-256, so it cannot drift from
# the code. The build fails when Describe() names another plugin than NAME, or when the
# capabilities tied to operations disagree with the methods the class overrides.
# INSTALL_DIR: `cmake --install` puts the library and its manifest there.
#
# lifeboat_add_conformance_test(NAME <plugin> RIG_SOURCES <src>... [LIBRARIES <lib>...]
#                               [LABELS <label>...])
#
# Builds <plugin>_conformance_test from the rig sources (which implement
# lifeboat::testing::ConformanceRig and register it with LIFEBOAT_CONFORMANCE_RIG) and the
# suite, and adds it to ctest with label "conformance". The test loads the plugin through
# the real host from LIFEBOAT_PLUGIN_DIR (default: where lifeboat_add_plugin put it), so the
# same binary can prove an outside build of the plugin.
set(LIFEBOAT_PLUGIN_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

# Warnings for a target of a plugin: the tree's own settings inside it, a reasonable set
# (without -Werror) outside.
function(_lifeboat_plugin_warnings target)
  if(COMMAND lifeboat_warnings)
    lifeboat_warnings(${target})
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  endif()
endfunction()

function(_lifeboat_plugin_output_dir out)
  if(LIFEBOAT_PLUGIN_OUTPUT_DIR)
    set(${out} ${LIFEBOAT_PLUGIN_OUTPUT_DIR} PARENT_SCOPE)
  else()
    set(${out} ${CMAKE_BINARY_DIR}/plugins PARENT_SCOPE)
  endif()
endfunction()

function(lifeboat_add_plugin)
  cmake_parse_arguments(P "" "NAME;OUTPUT_DIR;INSTALL_DIR;MANIFEST" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "lifeboat_add_plugin: NAME and SOURCES are required")
  endif()
  if(P_MANIFEST)
    message(FATAL_ERROR "lifeboat_add_plugin(NAME ${P_NAME}): MANIFEST is gone since SDK 0.2: "
                        "the manifest is generated from the plugin's Describe(); delete "
                        "${P_MANIFEST} and the argument")
  endif()
  if(NOT P_OUTPUT_DIR)
    _lifeboat_plugin_output_dir(P_OUTPUT_DIR)
  endif()
  file(MAKE_DIRECTORY ${P_OUTPUT_DIR})
  set(target lifeboat_plugin_${P_NAME})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE Lifeboat::sdk ${P_LIBRARIES})
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
  _lifeboat_plugin_warnings(${target})
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND Lifeboat::plugin_manifest
            --library $<TARGET_FILE:${target}>
            --output ${P_OUTPUT_DIR}/${P_NAME}.plugin.json
            --expect-name ${P_NAME}
    COMMENT "Writing ${P_NAME}.plugin.json from the plugin's Describe()"
    VERBATIM)
  if(P_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${P_INSTALL_DIR})
    install(FILES ${P_OUTPUT_DIR}/${P_NAME}.plugin.json DESTINATION ${P_INSTALL_DIR})
  endif()
endfunction()

function(lifeboat_add_conformance_test)
  cmake_parse_arguments(C "" "NAME" "RIG_SOURCES;LIBRARIES;LABELS" ${ARGN})
  set(exe ${C_NAME}_conformance_test)
  add_executable(${exe} ${C_RIG_SOURCES})
  target_link_libraries(${exe} PRIVATE Lifeboat::testing ${C_LIBRARIES} GTest::gtest_main)
  _lifeboat_plugin_warnings(${exe})
  if(TARGET lifeboat_plugin_${C_NAME})
    add_dependencies(${exe} lifeboat_plugin_${C_NAME})
  endif()
  _lifeboat_plugin_output_dir(plugin_dir)
  add_test(NAME ${exe} COMMAND ${exe})
  set_tests_properties(${exe} PROPERTIES
    LABELS "conformance;${C_LABELS}"
    ENVIRONMENT "LIFEBOAT_PLUGIN_DIR=${plugin_dir}")
endfunction()
