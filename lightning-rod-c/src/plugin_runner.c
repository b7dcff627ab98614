/* src/plugin_runner.c: how a plugin's code becomes a process
 * (board-protocol.md 6.5): its interpreter, the inline-code option, and
 * the runner that gives plugins written for the original Lightning-Rod the
 * API they import (iotronic_lightningrod.plugins.Plugin.Plugin with run,
 * stop, q_result and params; pluginApis.getBoardID, getLocation,
 * sendRequest; oslo_log's getLogger) without the original agent.
 *
 * The runner is Python text carried in the agent and passed with -c, so
 * nothing needs installing next to the binary and the container sees no
 * agent file. In "call" mode it runs Worker once with a queue and prints the
 * first value the plugin puts in it as JSON on stdout (the plugin's own
 * prints go to stderr); in "start" mode it runs Worker until SIGTERM, then
 * calls stop() and waits a little for run() to return. */
#include "src/plugins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "src/conf.h"

static const char runner_py[] =
    "import json, logging, os, queue, signal, sys, threading, types\n"
    "mode, uuid, name, code = sys.argv[1:5]\n"
    "out = sys.stdout\n"
    "sys.stdout = sys.stderr\n"
    "logging.basicConfig(stream=sys.stderr, level=logging.INFO,\n"
    "                    format='%(levelname)s %(name)s: %(message)s')\n"
    "try:\n"
    "    params = json.load(sys.stdin)\n"
    "except ValueError:\n"
    "    params = None\n"
    "\n"
    "class Plugin(threading.Thread):\n"
    "    def __init__(self, uuid, name, q_result=None, params=None):\n"
    "        threading.Thread.__init__(self, name='Plugin ' + str(name), daemon=True)\n"
    "        self.uuid, self.name, self.q_result, self.params = uuid, name, q_result, params\n"
    "        self.status = 'INITED'\n"
    "        self._is_running = True\n"
    "    def run(self):\n"
    "        pass\n"
    "    def stop(self):\n"
    "        self._is_running = False\n"
    "    def checkStatus(self):\n"
    "        return self.status\n"
    "    def setStatus(self, status):\n"
    "        self.status = status\n"
    "    def complete(self, rpc_name, result):\n"
    "        self.setStatus(result)\n"
    "        return rpc_name + ' result: ' + self.checkStatus()\n"
    "\n"
    "def getBoardID():\n"
    "    return os.environ.get('BOARD_ID')\n"
    "\n"
    "def getLocation():\n"
    "    return json.loads(os.environ.get('BOARD_LOCATION') or 'null')\n"
    "\n"
    "def getBoardGpio():\n"
    "    return None\n"
    "\n"
    "def sendRequest(url, action, headers=None, body=None, verbose=False):\n"
    "    import urllib.request\n"
    "    data = body.encode() if isinstance(body, str) else body\n"
    "    req = urllib.request.Request(url, data=data, headers=headers or {}, method=action)\n"
    "    with urllib.request.urlopen(req, timeout=30) as r:\n"
    "        return r.read().decode('utf-8', 'replace')\n"
    "\n"
    "def module(mname, **attrs):\n"
    "    m = types.ModuleType(mname)\n"
    "    m.__path__ = []\n"
    "    m.__dict__.update(attrs)\n"
    "    sys.modules[mname] = m\n"
    "    return m\n"
    "\n"
    "P = module('iotronic_lightningrod.plugins.Plugin', Plugin=Plugin)\n"
    "A = module('iotronic_lightningrod.plugins.pluginApis', getBoardID=getBoardID,\n"
    "           getLocation=getLocation, getBoardGpio=getBoardGpio, sendRequest=sendRequest)\n"
    "module('iotronic_lightningrod.plugins', Plugin=P, pluginApis=A)\n"
    "module('iotronic_lightningrod', plugins=sys.modules['iotronic_lightningrod.plugins'])\n"
    "L = module('oslo_log.log', getLogger=logging.getLogger)\n"
    "module('oslo_log', log=L)\n"
    "\n"
    "g = {'__name__': 'plugin'}\n"
    "exec(compile(code, '<plugin %s>' % name, 'exec'), g)\n"
    "Worker = g['Worker']\n"
    "if mode == 'call':\n"
    "    q = queue.Queue()\n"
    "    w = Worker(uuid, name, q, params)\n"
    "    w.start()\n"
    "    result = None\n"
    "    while True:\n"
    "        try:\n"
    "            result = q.get(timeout=0.1)\n"
    "            break\n"
    "        except queue.Empty:\n"
    "            if not w.is_alive() and q.empty():\n"
    "                break\n"
    "    out.write(json.dumps(result, default=str))\n"
    "    out.flush()\n"
    "    os._exit(0)\n"
    "stopping = threading.Event()\n"
    "signal.signal(signal.SIGTERM, lambda *a: stopping.set())\n"
    "w = Worker(uuid, name, None, params)\n"
    "w.start()\n"
    "while w.is_alive() and not stopping.wait(0.5):\n"
    "    pass\n"
    "w.stop()\n"
    "w.join(4)\n"
    "sys.exit(0)\n";

/* Interpreters and the option that runs code given on the command line. */
static const struct {
    const char *prefix;
    const char *flag;
} inline_flags[] = {
    {"python", "-c"}, {"sh", "-c"},     {"bash", "-c"}, {"dash", "-c"},
    {"ash", "-c"},    {"ksh", "-c"},    {"zsh", "-c"},  {"perl", "-e"},
    {"node", "-e"},   {"nodejs", "-e"}, {"ruby", "-e"}, {"lua", "-e"},
};

static const char *flag_of(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    for (size_t i = 0; i < sizeof(inline_flags) / sizeof(inline_flags[0]); i++) {
        size_t n = strlen(inline_flags[i].prefix);

        /* python3, python3.11, lua5.4: the name, then digits and dots. */
        if (strncmp(base, inline_flags[i].prefix, n) == 0 &&
            base[n + strspn(base + n, "0123456789.")] == '\0')
            return inline_flags[i].flag;
    }
    return NULL;
}

static const char *configured_python3(char *const *interps)
{
    for (size_t i = 0; interps != NULL && interps[i] != NULL; i++) {
        const char *base = strrchr(interps[i], '/') ? strrchr(interps[i], '/') + 1 : interps[i];

        if (strncmp(base, "python3", 7) == 0)
            return interps[i];
    }
    return NULL;
}

int lrc_plugin_interpreter(const char *code, char *const *interps, char **path, const char **flag,
                           struct error *err)
{
    char *p;

    *path = NULL;
    if (strncmp(code, "#!", 2) != 0) {
        const char *py = configured_python3(interps);

        if (py == NULL)
            return error_set(err, -EINVAL,
                             "code has no #! line and python3 is not among "
                             "[plugin] interpreters");
        p = xstrdup(py);
    } else {
        const char *s = code + 2 + strspn(code + 2, " \t");

        p = xstrndup(s, strcspn(s, " \t\r\n"));
    }
    if (!lrc_words_has(interps, p)) {
        error_set(err, -EINVAL, "code: interpreter %.128s is not allowed on this board", p);
        free(p);
        return -EINVAL;
    }
    *flag = flag_of(p);
    if (*flag == NULL) {
        error_set(err, -EINVAL, "code: interpreter %.128s cannot run inline code", p);
        free(p);
        return -EINVAL;
    }
    *path = p;
    return 0;
}

int lrc_plugin_is_compat(const char *code)
{
    return strstr(code, "class Worker(") != NULL && strstr(code, "Plugin.Plugin") != NULL;
}

char **lrc_plugin_argv(const char *interp, const char *flag, int compat, int call, const char *uuid,
                       const char *name, const char *code)
{
    char **v = xcalloc(8, sizeof(char *));
    size_t n = 0;

    v[n++] = xstrdup(interp);
    v[n++] = xstrdup(flag);
    if (compat) {
        v[n++] = xstrdup(runner_py);
        v[n++] = xstrdup(call ? "call" : "start");
        v[n++] = xstrdup(uuid);
        v[n++] = xstrdup(name);
    }
    v[n++] = xstrdup(code);
    v[n] = NULL;
    return v;
}
