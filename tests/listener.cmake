# test_listener counts the library's heap allocations through the
# linker's --wrap (no allocation before a valid Initiate).
if(TARGET test_listener)
  target_link_options(test_listener PRIVATE
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
endif()
