# `cmake --install build --prefix P` (and `make install PREFIX=... DESTDIR=...`): the programs,
# the bundled model and images under P/share/msnlens (laid out as resources/ is, so the app
# finds them relative to its own binary), the desktop entry, the icon and the man pages.
# `make package` turns the same tree into a .deb with CPack.
install(TARGETS msnlens-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET msnlens)
  install(TARGETS msnlens RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY resources/models resources/images DESTINATION ${CMAKE_INSTALL_DATADIR}/msnlens)
install(FILES resources/desktop/msnlens.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES resources/desktop/msnlens.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
foreach(size 48 128 256)
  install(FILES resources/desktop/msnlens-${size}.png DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps
          RENAME msnlens.png)
endforeach()
install(FILES resources/desktop/msnlens.1 resources/desktop/msnlens-cli.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(CPACK_PACKAGE_NAME msnlens)
set(CPACK_PACKAGE_VENDOR "MSN Lens")
set(CPACK_PACKAGE_CONTACT "MSN Lens developers <msnlens@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_INSTALL_DIRECTORY msnlens)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Inspect ViT-MSN vision transformers
 MSN Lens loads pretrained ViT-MSN checkpoints (Hugging Face folders and the original
 facebookresearch/msn files) and images, and shows predictions beside per-head attention
 maps and interactive patch masking. Includes msnlens-cli for scripts.")
# dpkg-shlibdeps names the packages of the linked libraries (Qt 6 with Charts, LibTorch,
# OpenCV); OpenBLAS is LibTorch's BLAS through the libblas.so.3 alternative, so it is named.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0 | libblas3")
include(CPack)
