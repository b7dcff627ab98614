# iotronic-c/api: the iotronic-api daemon's routes, handlers and pure helpers.
$(call LIB,iotapi,$(wildcard iotronic-c/api/*.c),)
