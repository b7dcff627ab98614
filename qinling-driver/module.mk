# qinling-driver: the deviceless functions service (deviceless-api.md).
#
#   libqinlingmodel  qmodel/: configuration, board tokens, field values, devices,
#                    cron patterns, input kinds, eligibility, filters, targets and
#                    execution creation (both daemons)
#   libqinlingapi    qapi/: qinling-api's routes, bodies, packages, handlers
#   libqinlingengine qengine/: qinling-engine's consumers, placement, dispatch,
#                    results, sweeper, jobs, and the IoTronic orchestrator driver
#                    (qd_: board calls through the wagent's AMQP invoke)
#
# The daemons need libiothttp, libiotauth and libiotamqp; they build whenever
# those components are in the tree.
QM_SRCS := $(wildcard qinling-driver/qmodel/*.c)
$(call LIB,qinlingmodel,$(QM_SRCS),$(LDLIBS_PQ) $(LDLIBS_ARCHIVE))

QD_DEPS_PRESENT := $(and $(wildcard iotronic-c/http/module.mk),$(wildcard iotronic-c/auth/module.mk),$(wildcard iotronic-c/amqp/module.mk))
ifneq ($(and $(QD_DEPS_PRESENT),$(wildcard qinling-driver/cmd/qinling-api.c)),)
$(call LIB,qinlingapi,$(wildcard qinling-driver/qapi/*.c),$(LDLIBS_ARCHIVE))
$(call PROG,qinling-api,qinling-driver/cmd/qinling-api.c,qinlingapi qinlingmodel iothttp iotauth iotloop iotamqp iotdb iotcommon,)
INSTALL_BINS += qinling-api
endif
ifneq ($(and $(QD_DEPS_PRESENT),$(wildcard qinling-driver/cmd/qinling-engine.c)),)
$(call LIB,qinlingengine,$(wildcard qinling-driver/qengine/*.c),)
$(call PROG,qinling-engine,qinling-driver/cmd/qinling-engine.c,qinlingengine qinlingmodel iothttp iotauth iotloop iotamqp iotdb iotcommon,)
INSTALL_BINS += qinling-engine
endif

# The sample configuration, the systemd units and the OpenAPI document are
# installed by etc/module.mk with the other components'.
