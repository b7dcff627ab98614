# iotronic-c/db: libiotdb (libpq connections, pool, transactions, LISTEN/NOTIFY,
# result helpers, the migration runner) and the iotronic-dbsync tool.
#
# db/db.h exposes PGresult, so every includer needs libpq's header directory.
DB_PQ_CFLAGS := $(shell pkg-config --cflags-only-I libpq 2>/dev/null)
CPPFLAGS += $(if $(DB_PQ_CFLAGS),$(DB_PQ_CFLAGS),-I/usr/include/postgresql)

$(call LIB,iotdb,$(wildcard iotronic-c/db/*.c),$(LDLIBS_PQ))
$(call PROG,iotronic-dbsync,iotronic-c/cmd/iotronic-dbsync.c,iotdb iotconf iotapi iotauth iotconductor iotwagent iotcommon)

INSTALL_BINS += iotronic-dbsync
# Installed where iotronic-dbsync looks first: <bindir>/../share/iotronic/migrations.
INSTALL_EXTRA += install -d -m 0755 $(DESTDIR)$(PREFIX)/share/iotronic/migrations && \
	install -m 0644 db/migrations/*.sql $(DESTDIR)$(PREFIX)/share/iotronic/migrations;
