# iotronic-c/conductor: the iotronic-conductor's RPC handlers and business logic.
$(call LIB,iotconductor,$(wildcard iotronic-c/conductor/*.c),$(LDLIBS_PQ) $(LDLIBS_AMQP))
$(call PROG,iotronic-conductor,iotronic-c/cmd/iotronic-conductor.c,iotconductor iotconf iotapi iotauth iotwagent iotamqp iotdb iotcommon,)
INSTALL_BINS += iotronic-conductor
