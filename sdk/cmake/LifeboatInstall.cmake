# `cmake --install <build> --prefix P` installs the SDK as a CMake package, so that a plugin
# outside this tree does find_package(Lifeboat CONFIG) (docs/plugin-guide.md). Included by the
# top-level CMakeLists.txt after sdk/ and core/.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(_lifeboat_gen_hdrs)
foreach(_proto common manifest plugin journal)
  list(APPEND _lifeboat_gen_hdrs ${PROJECT_BINARY_DIR}/sdk/gen/lifeboat/v1/${_proto}.pb.h)
endforeach()
set(LIFEBOAT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Lifeboat)
set(LIFEBOAT_PROTO_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/lifeboat/proto)
set(_export_targets lifeboat_abi lifeboat_sdk_proto lifeboat_sdk lifeboat-plugin-manifest
                    lifeboat_testkit)
if(TARGET lifeboat_conformance)
  # The conformance suite loads plugins through the real host: the host library goes along.
  list(APPEND _export_targets lifeboat_conformance lifeboat_core)
endif()
install(TARGETS ${_export_targets}
        EXPORT LifeboatTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/testing/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${_lifeboat_gen_hdrs} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lifeboat/v1)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/proto/ DESTINATION ${LIFEBOAT_PROTO_INSTALL_DIR})
install(EXPORT LifeboatTargets NAMESPACE Lifeboat:: DESTINATION ${LIFEBOAT_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/sdk/cmake/LifeboatConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/sdk/LifeboatConfig.cmake
                              INSTALL_DESTINATION ${LIFEBOAT_CMAKE_INSTALL_DIR}
                              PATH_VARS LIFEBOAT_PROTO_INSTALL_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sdk/LifeboatConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sdk/LifeboatConfig.cmake
              ${PROJECT_BINARY_DIR}/sdk/LifeboatConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/sdk/cmake/LifeboatPlugin.cmake
              ${PROJECT_SOURCE_DIR}/sdk/cmake/plugin.map
        DESTINATION ${LIFEBOAT_CMAKE_INSTALL_DIR})
