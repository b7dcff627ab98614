# etc/: the sample configuration files and the systemd units of every daemon.
# `make install` puts them where an operator (or a package) picks them up:
#
#   $(PREFIX)/share/iotronic-c/etc/<dir>/<name>.sample   copy to /etc/<dir>/<name>
#   $(PREFIX)/lib/systemd/system/<daemon>.service        ExecStart under $(PREFIX)/bin
#   $(PREFIX)/share/doc/iotronic/*.yaml                  the API references the units name
#
# The units are written for PREFIX=/usr/local; other prefixes are rewritten.
ETC_SAMPLES := $(wildcard etc/*/*.sample)
ETC_UNITS := $(wildcard etc/systemd/*.service)
INSTALL_EXTRA += for f in $(ETC_SAMPLES); do \
	install -D -m 0644 $$f $(DESTDIR)$(PREFIX)/share/iotronic-c/$$f || exit 1; done; \
	install -d -m 0755 $(DESTDIR)$(PREFIX)/lib/systemd/system && \
	for u in $(ETC_UNITS); do \
	sed 's|/usr/local/|$(PREFIX)/|g' $$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$${u\#\#*/} && \
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$${u\#\#*/} || exit 1; done; \
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/iotronic && \
	install -m 0644 $(wildcard api-ref/*.yaml) $(DESTDIR)$(PREFIX)/share/doc/iotronic/;
