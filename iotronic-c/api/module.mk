# iotronic-c/api: the iotronic-api daemon's routes, handlers and reads.
$(call LIB,iotapi,$(wildcard iotronic-c/api/*.c),$(LDLIBS_PQ))
