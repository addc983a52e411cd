# test_stream_widen_fail makes the block table's allocation fail on
# demand through the linker's --wrap.
if(TARGET test_stream_widen_fail)
  target_link_options(test_stream_widen_fail PRIVATE -Wl,--wrap=malloc)
endif()
