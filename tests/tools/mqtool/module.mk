# tests/tools/mqtool: test and operations CLI for the AMQP RPC library.
$(call PROG,mqtool,tests/tools/mqtool/mqtool.c,iotamqp iotcommon)
