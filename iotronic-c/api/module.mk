# iotronic-c/api: the iotronic-api daemon's routes, handlers and reads.
#
# The pure helpers and the reads (libpq, libiotdb) always build; the service
# itself (handlers, hooks, routes, main) needs libiothttp, libiotauth and
# libiotamqp, and builds whenever those components are in the tree.
API_PURE := $(addprefix iotronic-c/api/,fault.c ident.c query.c resource.c schema.c version.c \
	sqlkind.c store.c)
API_SERVICE := $(filter-out $(API_PURE),$(wildcard iotronic-c/api/*.c))
API_DEPS_PRESENT := $(and $(wildcard iotronic-c/http/module.mk),$(wildcard iotronic-c/auth/module.mk),$(wildcard iotronic-c/amqp/module.mk))
ifneq ($(API_DEPS_PRESENT),)
$(call LIB,iotapi,$(API_PURE) $(API_SERVICE),$(LDLIBS_PQ))
$(call PROG,iotronic-api,iotronic-c/cmd/iotronic-api.c,iotapi iotconf iotconductor iotwagent iothttp iotauth iotloop iotamqp iotdb iotcommon,)
INSTALL_BINS += iotronic-api
else
$(call LIB,iotapi,$(API_PURE),$(LDLIBS_PQ))
endif
