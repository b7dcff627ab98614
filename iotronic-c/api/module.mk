# iotronic-c/api: the iotronic-api daemon's routes, handlers and reads.
$(call LIB,iotapi,$(wildcard iotronic-c/api/*.c),$(LDLIBS_PQ))
$(call PROG,iotronic-api,iotronic-c/cmd/iotronic-api.c,iotapi iotconf iotconductor iotwagent iothttp iotauth iotloop iotamqp iotdb iotcommon,)
INSTALL_BINS += iotronic-api
