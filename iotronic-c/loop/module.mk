# iotronic-c/loop: the process event loop (libev) with libwebsockets on it.
$(call LIB,iotloop,$(wildcard iotronic-c/loop/*.c),$(LDLIBS_LWS) -lev)
