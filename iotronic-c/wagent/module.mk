# iotronic-c/wagent: the WAMP router for boards, the cloud callees, board
# liveness and the tunnel server mount (libiotwagent), and iotronic-wagent.
$(call LIB,iotwagent,$(wildcard iotronic-c/wagent/*.c),$(LDLIBS_PQ) $(LDLIBS_AMQP) $(LDLIBS_LWS) -lev)
$(call PROG,iotronic-wagent,iotronic-c/cmd/iotronic-wagent.c,iotwagent iotconf iotapi iotconductor iothttp iotauth iottun iotwamp iotloop iotamqp iotdb iotcommon,)
INSTALL_BINS += iotronic-wagent
