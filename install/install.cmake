# install/install.cmake: the part of `cmake --install` that writes installed paths into files
# (the unit's ExecStart and config path, libbroker.pc's prefix). It runs at install time, so
# those follow `--prefix` and land under $DESTDIR like every other file. CMakeLists.txt sets
# BROKERD_SOURCE_DIR, BROKERD_STAGE_DIR, PROJECT_VERSION and the GNUInstallDirs dirs first.

# brokerd_full_dir: GNUInstallDirs' absolute form of a directory for this install's prefix
# (etc is /etc for the prefixes / and /usr, as a distribution package has it).
function(brokerd_full_dir var dir)
  if(IS_ABSOLUTE "${dir}")
    set(${var} "${dir}" PARENT_SCOPE)
  elseif(dir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(${var} "/etc" PARENT_SCOPE)
  else()
    string(REGEX REPLACE "/$" "" prefix "${CMAKE_INSTALL_PREFIX}")
    set(${var} "${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

set(BROKERD_PREFIX "${CMAKE_INSTALL_PREFIX}")
brokerd_full_dir(CMAKE_INSTALL_FULL_SBINDIR "${BROKERD_SBINDIR}")
brokerd_full_dir(BROKERD_LIBDIR "${BROKERD_LIBDIR_REL}")
brokerd_full_dir(BROKERD_INCLUDEDIR "${BROKERD_INCLUDEDIR_REL}")
brokerd_full_dir(BROKERD_CONFDIR "${BROKERD_SYSCONFDIR}")
brokerd_full_dir(BROKERD_UNITDIR "${BROKERD_UNITDIR_REL}")
brokerd_full_dir(BROKERD_SYSUSERSDIR "${BROKERD_SYSUSERSDIR_REL}")
set(BROKERD_CONFDIR "${BROKERD_CONFDIR}/brokerd")
set(BROKERD_CONFIG "${BROKERD_CONFDIR}/brokerd.json")

# One staging dir per destination, so that installs running at once do not mix.
string(MD5 stage "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(BROKERD_STAGE_DIR "${BROKERD_STAGE_DIR}/${stage}")
configure_file("${BROKERD_SOURCE_DIR}/systemd/brokerd.service.in"
  "${BROKERD_STAGE_DIR}/brokerd.service" @ONLY)
configure_file("${BROKERD_SOURCE_DIR}/install/libbroker.pc.in"
  "${BROKERD_STAGE_DIR}/libbroker.pc" @ONLY)
configure_file("${BROKERD_SOURCE_DIR}/systemd/brokerd.sysusers"
  "${BROKERD_STAGE_DIR}/brokerd.conf" COPYONLY)

file(INSTALL "${BROKERD_STAGE_DIR}/brokerd.service" DESTINATION "${BROKERD_UNITDIR}")
file(INSTALL "${BROKERD_STAGE_DIR}/brokerd.conf" DESTINATION "${BROKERD_SYSUSERSDIR}")
file(INSTALL "${BROKERD_STAGE_DIR}/libbroker.pc" DESTINATION "${BROKERD_LIBDIR}/pkgconfig")
# The config file is the operator's once installed: a second install leaves it alone.
if(EXISTS "$ENV{DESTDIR}${BROKERD_CONFIG}")
  message(STATUS "Keeping: $ENV{DESTDIR}${BROKERD_CONFIG} (the example is brokerd.json(5)'s)")
else()
  file(INSTALL "${BROKERD_SOURCE_DIR}/systemd/brokerd.json" DESTINATION "${BROKERD_CONFDIR}"
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
