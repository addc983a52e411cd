# Hardening tests (tests/test_harden_*): extra link options.
# test_harden_flood counts the library's heap allocations through the
# linker's --wrap (every malloc/calloc/realloc call linked into it).
if(TARGET test_harden_flood)
  target_link_options(test_harden_flood PRIVATE
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
endif()
# test_harden_secrets scans every block freed through free() for known
# secrets before it goes back to the allocator.
if(TARGET test_harden_secrets)
  target_link_options(test_harden_secrets PRIVATE -Wl,--wrap=free)
endif()
