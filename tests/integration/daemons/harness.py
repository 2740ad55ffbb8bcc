#!/usr/bin/env python3
"""Real BGP daemons on loopback, each announcing a known route set to a collector.

One instance per daemon (exabgp, bird, frr, gobgp, openbgpd), all files under DIR/NAME (config,
sockets, pid, log). Subcommands:

  start NAME DIR ADDR:PORT ASN  write the config and start the daemon: it connects from its own
                                address ($DM_DAEMON_NET.1x) to the collector at ADDR:PORT (AS
                                ASN) and announces the known set (routes() below)
  withdraw NAME DIR             withdraw the known part (withdrawn() below)
  down NAME DIR                 drop the session (the neighbor is shut down)
  stop NAME DIR                 kill the daemon (always safe; the tests' traps call it)
  expect NAME announce|withdraw the routes the collector must then hold, canonical lines
  info NAME                     "ADDRESS ASN" of the daemon, for the collector's config

And normalizers, reading stdin, printing canonical lines "PEER|PREFIX|AS_PATH|NH|LARGE_COMMS"
sorted (one line per path: with ADD-PATH one prefix has two lines):
  norm-gobgp      `gobgp -j neighbor X adj-in -a FAMILY` output
  norm-bgpdump [W] `bgpdump -m` lines: announcements as PEER|PREFIX|AS_PATH|NH (no large
                  communities: bgpdump -m prints none), or withdrawals as PEER|PREFIX
  norm-state      `darkmap collect --state` lines as PEER|PREFIX|AS_PATH|NH
  norm-json       `darkmap dump --json` announcements as PEER|PREFIX|AS_PATH|NH|LARGE_COMMS

Only python3's standard library: the test machine has no PyPI.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

# daemon index: source address 127.0.0.(10+i), AS 4200000000+i, origin AS 4200000100+i
DAEMONS = {"exabgp": 1, "bird": 2, "frr": 3, "gobgp": 4, "openbgpd": 5}
BIN = {"exabgp": "/usr/sbin/exabgp", "bird": "/usr/sbin/bird", "frr": "/usr/lib/frr/bgpd",
       "gobgp": "/usr/bin/gobgpd", "openbgpd": "/usr/sbin/bgpd"}
# daemons whose second path for X.1 reaches the collector through ADD-PATH send
ADDPATH = {"exabgp", "bird", "gobgp"}


# DM_DAEMON_NET: the /24 the daemons' source addresses are in, so two sets of daemons (say, one
# peering with a reference collector, one with darkmap) can run side by side
NET = os.environ.get("DM_DAEMON_NET", "127.0.0")


def src(name):
    return "%s.%d" % (NET, 10 + DAEMONS[name])


def asn(name):
    return 4200000000 + DAEMONS[name]


def origin(name):
    return 4200000100 + DAEMONS[name]


def routes(name):
    """The known set: list of (prefix, path id, large community (a, b, c)).

    Every route carries the large community ASN:1:1; the second path of the first IPv4
    prefix (ADD-PATH daemons only) carries ASN:1:2 so the two paths differ."""
    i, a = DAEMONS[name], asn(name)
    r = [("10.%d.1.0/24" % i, 1, (a, 1, 1)), ("10.%d.2.0/24" % i, 1, (a, 1, 1)),
         ("10.%d.3.0/24" % i, 1, (a, 1, 1)),
         ("2001:db8:%d:1::/64" % i, 1, (a, 1, 1)), ("2001:db8:%d:2::/64" % i, 1, (a, 1, 1))]
    if name in ADDPATH:
        r.append(("10.%d.1.0/24" % i, 2, (a, 1, 2)))
    return r


def withdrawn(name):
    i = DAEMONS[name]
    return {"10.%d.2.0/24" % i, "2001:db8:%d:2::/64" % i}


def as_path(name):
    """The AS path the collector sees: the daemon's AS then the origin AS (both 4-byte).
    OpenBGPD cannot set an arbitrary path on its own networks: it prepends itself once."""
    if name == "openbgpd":
        return "%d %d" % (asn(name), asn(name))
    return "%d %d" % (asn(name), origin(name))


def expect(name, phase):
    out = []
    for p, _pid, lc in routes(name):
        if phase == "withdraw" and p in withdrawn(name):
            continue
        out.append("%s|%s|%s|%s|%d:%d:%d" % (src(name), p, as_path(name), nh(name, p), *lc))
    return sorted(out)


def is_v6(p):
    return ":" in p


def nh6(name):
    return "2001:db8:ffff::%d" % (10 + DAEMONS[name])


def nh4(name):
    # not the loopback source address: gobgpd (the reference collector) treats an UPDATE with
    # a 127/8 next hop as a withdrawal
    return "192.0.2.%d" % (10 + DAEMONS[name])


def nh(name, p):
    return nh6(name) if is_v6(p) else nh4(name)


def free_port(addr):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def spawn(d, argv, env=None, log="daemon.log"):
    """Start argv in its own process group, stdout/stderr to d/log, pid to d/pid."""
    e = dict(os.environ)
    e.update(env or {})
    with open(os.path.join(d, log), "ab") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=e, start_new_session=True, cwd=d)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write("%d\n" % p.pid)
    return p


def run(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=30)
    if check and r.returncode != 0:
        sys.exit("harness: %s: exit %d: %s" % (" ".join(argv), r.returncode, r.stdout.strip()))
    return r.stdout


def alive(d):
    try:
        os.killpg(int(open(os.path.join(d, "pid")).read()), 0)
        return True
    except (OSError, ValueError):
        return False


def retry(d, argv, tries=50):
    """A control CLI right after start: the daemon may not listen on its socket yet. Gives up
    at once when the daemon died (its log's last line says why)."""
    for _ in range(tries):
        if not alive(d):
            log = open(os.path.join(d, "daemon.log"), errors="replace").read().splitlines()
            sys.exit("harness: %s died: %s" % (argv[0], log[-1] if log else "no log"))
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        if r.returncode == 0 and "rror" not in r.stdout:
            return r.stdout
        time.sleep(0.2)
    sys.exit("harness: %s: %s" % (" ".join(argv), r.stdout.strip()))


# ---- exabgp: static config off, routes from an API process that waits for phase files ----
EXA_CTL = r'''import os, sys, time
d = sys.argv[1]
def say(lines):
    for l in lines:
        sys.stdout.write(l + "\n")
    sys.stdout.flush()
say(open(os.path.join(d, "announce.api")).read().splitlines())
while not os.path.exists(os.path.join(d, "withdraw.go")):
    time.sleep(0.05)
say(open(os.path.join(d, "withdraw.api")).read().splitlines())
open(os.path.join(d, "withdraw.done"), "w").close()
while True:
    if not sys.stdin.readline():
        break
'''


def exabgp_start(name, d, caddr, cport, cas):
    s = src(name)
    ann, wd = [], []
    for p, pid, lc in routes(name):
        hop = nh(name, p)
        ann.append("announce route %s path-information %d next-hop %s as-path [ %d %d ] "
                   "large-community [ %d:%d:%d ]" % (p, pid, hop, asn(name), origin(name), *lc))
        if p in withdrawn(name):
            wd.append("withdraw route %s path-information %d next-hop %s" % (p, pid, hop))
    open(os.path.join(d, "announce.api"), "w").write("\n".join(ann) + "\n")
    open(os.path.join(d, "withdraw.api"), "w").write("\n".join(wd) + "\n")
    open(os.path.join(d, "ctl.py"), "w").write(EXA_CTL)
    conf = """process ctl {
	run %s %s %s %s;
	encoder text;
}
neighbor %s {
	router-id %s;
	local-address %s;
	local-as %d;
	peer-as %d;
	connect %d;
	group-updates false;
	capability { asn4 enable; add-path send; }
	family { ipv4 unicast; ipv6 unicast; }
	add-path { ipv4 unicast; ipv6 unicast; }
	api { processes [ ctl ]; }
}
""" % (sys.executable, os.path.join(d, "ctl.py"), d, caddr, caddr, s, s, asn(name), cas, cport)
    open(os.path.join(d, "exabgp.conf"), "w").write(conf)
    env = {"exabgp_daemon_user": "root", "exabgp_daemon_daemonize": "false",
           "exabgp_daemon_pid": os.path.join(d, "exabgp.pid"), "exabgp_api_cli": "false",
           "exabgp_log_destination": "stdout", "exabgp_tcp_bind": "",
           "exabgp_api_respawn": "false"}
    spawn(d, [BIN[name], os.path.join(d, "exabgp.conf")], env)


def exabgp_withdraw(name, d):
    open(os.path.join(d, "withdraw.go"), "w").close()
    for _ in range(100):
        if os.path.exists(os.path.join(d, "withdraw.done")):
            return
        time.sleep(0.05)
    sys.exit("harness: exabgp: withdraw not sent")


def exabgp_down(name, d):
    # stopped (it sends Cease/2): a teardown through its API would reconnect at once
    stop(d)


# ---- bird: one static protocol per path; the withdrawn part in its own protocols ----
def bird_start(name, d, caddr, cport, cas):
    s, a, o = src(name), asn(name), origin(name)
    stat = []
    groups = {}
    for p, pid, lc in routes(name):
        fam = "ipv6" if is_v6(p) else "ipv4"
        key = (fam, pid, p in withdrawn(name))
        groups.setdefault(key, []).append((p, lc))
    for (fam, pid, wd), rs in sorted(groups.items()):
        pname = "s_%s_%d%s" % (fam, pid, "_w" if wd else "")
        lc = rs[0][1]
        stat.append("""protocol static %s {
	%s { import filter { bgp_path.prepend(%d); bgp_large_community.add((%d, %d, %d)); accept; }; };
%s}
""" % (pname, fam, o, *lc, "".join("\troute %s blackhole;\n" % p for p, _ in rs)))
    conf = """router id %s;
log "%s" all;
protocol device { }
%s
protocol bgp collector {
	local %s as %d;
	neighbor %s port %d as %d;
	strict bind yes;
	multihop 2;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 2;
	ipv4 { import none; export all; add paths tx; next hop address %s; };
	ipv6 { import none; export all; add paths tx; next hop address %s; };
}
""" % (s, os.path.join(d, "bird.log"), "".join(stat), s, a, caddr, cport, cas, nh4(name),
       nh6(name))
    open(os.path.join(d, "bird.conf"), "w").write(conf)
    spawn(d, [BIN[name], "-f", "-c", os.path.join(d, "bird.conf"),
              "-s", os.path.join(d, "bird.ctl"), "-P", os.path.join(d, "bird.pid")])


def birdc(d, *cmd):
    return retry(d, ["birdc", "-s", os.path.join(d, "bird.ctl")] + list(cmd))


def bird_withdraw(name, d):
    birdc(d, "disable", "s_ipv4_1_w")
    birdc(d, "disable", "s_ipv6_1_w")


def bird_down(name, d):
    birdc(d, "disable", "collector")


# ---- frr bgpd, without zebra ----
def frr_start(name, d, caddr, cport, cas):
    s, a, o = src(name), asn(name), origin(name)
    nets = {"ipv4": [], "ipv6": []}
    for p, pid, lc in routes(name):
        nets["ipv6" if is_v6(p) else "ipv4"].append(p)
    af = ""
    for fam in ("ipv4", "ipv6"):
        af += " address-family %s unicast\n" % fam
        for p in nets[fam]:
            af += "  network %s route-map SET\n" % p
        af += "  neighbor %s activate\n" % caddr
        af += "  neighbor %s route-map NH%s out\n" % (caddr, fam[-1])
        af += "  neighbor %s route-map NONE in\n" % caddr
        af += "  neighbor %s addpath-tx-all-paths\n" % caddr
        af += " exit-address-family\n"
    conf = """frr defaults traditional
hostname %s
log file %s
!
route-map SET permit 10
 set as-path prepend %d
 set large-community %d:1:1
exit
route-map NONE deny 10
exit
route-map NH4 permit 10
 set ip next-hop %s
exit
route-map NH6 permit 10
 set ipv6 next-hop global %s
exit
!
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 neighbor %s remote-as %d
 neighbor %s port %d
 neighbor %s update-source %s
 neighbor %s timers connect 1
%s!
""" % (name, os.path.join(d, "frr.log"), o, a, nh4(name), nh6(name), a, s, caddr, cas, caddr, cport,
       caddr, s, caddr, af)
    open(os.path.join(d, "frr.conf"), "w").write(conf)
    spawn(d, [BIN[name], "-f", os.path.join(d, "frr.conf"), "-i", os.path.join(d, "bgpd.pid"),
              "--vty_socket", d, "-S", "-Z", "-n", "-p", "0", "-P", "0",
              "--log", "file:" + os.path.join(d, "frr.log")])


def vtysh(name, d, *cmds):
    argv = ["vtysh", "--vty_socket", d, "-d", "bgpd"]
    for c in cmds:
        argv += ["-c", c]
    return retry(d, argv)


def frr_withdraw(name, d):
    cmds = ["configure terminal", "router bgp %d" % asn(name)]
    for p in sorted(withdrawn(name)):
        cmds += ["address-family %s unicast" % ("ipv6" if is_v6(p) else "ipv4"),
                 "no network %s route-map SET" % p, "exit-address-family"]
    vtysh(name, d, *cmds)


def frr_down(name, d):
    vtysh(name, d, "configure terminal", "router bgp %d" % asn(name),
          "neighbor %s shutdown" % open(os.path.join(d, "collector")).read().split()[0])


# ---- gobgpd: routes through its gRPC CLI ----
def gobgp_start(name, d, caddr, cport, cas):
    s = src(name)
    api = free_port("127.0.0.1")
    open(os.path.join(d, "api"), "w").write("%d\n" % api)
    fams = ""
    for f in ("ipv4-unicast", "ipv6-unicast"):
        fams += """  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "%s"
    [neighbors.afi-safis.add-paths.config]
      send-max = 8
""" % f
    conf = """[global.config]
  as = %d
  router-id = "%s"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "%s"
    peer-as = %d
  [neighbors.transport.config]
    local-address = "%s"
    remote-port = %d
  [neighbors.timers.config]
    connect-retry = 1
%s
# eBGP: gobgpd would send its own address as the IPv4 next hop
[[policy-definitions]]
  name = "nh"
  [[policy-definitions.statements]]
    name = "v4"
    [policy-definitions.statements.conditions.bgp-conditions]
      afi-safi-in-list = ["ipv4-unicast"]
    [policy-definitions.statements.actions]
      route-disposition = "accept-route"
    [policy-definitions.statements.actions.bgp-actions]
      set-next-hop = "%s"
[global.apply-policy.config]
  export-policy-list = ["nh"]
  default-export-policy = "accept-route"
""" % (asn(name), s, caddr, cas, s, cport, fams, nh4(name))
    open(os.path.join(d, "gobgpd.toml"), "w").write(conf)
    spawn(d, [BIN[name], "-f", os.path.join(d, "gobgpd.toml"), "-p", "--pprof-disable",
              "--api-hosts", "127.0.0.1:%d" % api])
    for p, pid, lc in routes(name):
        fam = "ipv6" if is_v6(p) else "ipv4"
        gobgp(d, "global", "rib", "add", "-a", fam, p, "identifier", str(pid), "nexthop",
              nh(name, p), "aspath", str(origin(name)),
              "large-community", "%d:%d:%d" % lc)


def gobgp(d, *args):
    api = open(os.path.join(d, "api")).read().strip()
    return retry(d, ["gobgp", "-p", api] + list(args))


def gobgp_withdraw(name, d):
    for p, pid, lc in routes(name):
        if p in withdrawn(name):
            gobgp(d, "global", "rib", "del", "-a", "ipv6" if is_v6(p) else "ipv4", p,
                  "identifier", str(pid))


def gobgp_down(name, d):
    caddr = open(os.path.join(d, "collector")).read().split()[0]
    gobgp(d, "neighbor", caddr, "disable")


# ---- openbgpd: networks added and deleted through bgpctl ----
def openbgpd_start(name, d, caddr, cport, cas):
    s = src(name)
    conf = """AS %d
router-id %s
socket "%s"
listen on %s port %d
fib-update no
neighbor %s {
	remote-as %d
	local-address %s
	port %d
	multihop 2
	descr "collector"
	announce IPv4 unicast
	announce IPv6 unicast
}
allow from any
allow to any
# eBGP: bgpd would send its own address as the next hop (no-modify works on multihop sessions)
match to any set nexthop no-modify
""" % (asn(name), s, os.path.join(d, "bgpd.sock"), s, free_port(s), caddr, cas, s, cport)
    open(os.path.join(d, "bgpd.conf"), "w").write(conf)
    os.chmod(os.path.join(d, "bgpd.conf"), 0o600)
    # its processes chroot into the _openbgpd user's home, which systemd creates at boot
    os.makedirs("/run/openbgpd", exist_ok=True)
    spawn(d, [BIN[name], "-d", "-f", os.path.join(d, "bgpd.conf")])
    # a network added before the RDE has its configuration goes out with AS 0 in its path
    for _ in range(150):
        if "BGP state = Established" in bgpctl(d, "show", "neighbor", caddr):
            break
        time.sleep(0.2)
    for p, pid, lc in routes(name):
        bgpctl(d, "network", "add", p, "large-community", "%d:%d:%d" % lc, "prepend-self", "1",
               "nexthop", nh(name, p))


def bgpctl(d, *args):
    return retry(d, ["bgpctl", "-s", os.path.join(d, "bgpd.sock")] + list(args))


def openbgpd_withdraw(name, d):
    for p in sorted(withdrawn(name)):
        bgpctl(d, "network", "delete", p)


def openbgpd_down(name, d):
    caddr = open(os.path.join(d, "collector")).read().split()[0]
    bgpctl(d, "neighbor", caddr, "down")


def stop(d):
    try:
        pid = int(open(os.path.join(d, "pid")).read())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(20):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def norm_gobgp(peer, text):
    """gobgp -j adj-in: {"prefix": [{"nlri":..., "attrs": [...], ...}, ...]} or a list."""
    out = []
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:  # an error message, not JSON: nothing received
        return []
    paths = []
    if isinstance(data, dict):
        for v in data.values():
            paths.extend(v)
    else:
        paths = data
    for p in paths:
        prefix = p["nlri"]["prefix"]
        path, hop, lcs = "", "", []
        for a in p.get("attrs", []):
            if a.get("type") in (3, 14):
                hop = a.get("nexthop", "")
            if a.get("type") == 2:
                path = " ".join(" ".join(str(x) for x in seg["asns"]) for seg in a["as_paths"])
            if a.get("type") == 32:
                lcs = ["%d:%d:%d" % (c["ASN"], c["LocalData1"], c["LocalData2"])
                       for c in a["value"]]
        out.append("%s|%s|%s|%s|%s" % (peer, prefix, path, hop, " ".join(lcs)))
    return sorted(out)


def norm_bgpdump(text, kind="A"):
    """`bgpdump -m` (or `darkmap dump -m`) lines of type KIND: A gives "PEER|PREFIX|AS_PATH|NH"
    (TYPE|time|A|peer|as|prefix|path|origin|nh|..., BGP4MP_ET_AP ones with the path id after
    the prefix), W gives "PEER|PREFIX". bgpdump -m prints no large communities."""
    out = []
    for line in text.splitlines():
        f = line.split("|")
        if len(f) < 6 or f[2] != kind:
            continue
        if kind == "W":
            out.append("%s|%s" % (f[3], f[5]))
            continue
        if f[0].endswith("_AP"):
            del f[6]
        out.append("%s|%s|%s|%s" % (f[3], f[5], f[6], f[8]))
    return sorted(out)


def norm_json(text):
    """`darkmap dump --json` announcements as "PEER|PREFIX|AS_PATH|NH|LARGE_COMMS" (the large
    communities that bgpdump -m does not print)."""
    out = []
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") != "A":
            continue
        out.append("%s|%s|%s|%s|%s" % (e["peer_address"], e["prefix"], e["as_path"],
                                       e["next_hop"], " ".join(e["large_communities"])))
    return sorted(out)


def norm_state(text):
    """darkmap collect --state: PEER|AS|PREFIX|[PATH_ID|]AS_PATH|ORIGIN|NEXT_HOP|LP|MED|COMMS|
    AG|AGGREGATOR| (the path id when ADD-PATH is in use) to "PEER|PREFIX|AS_PATH|NH"."""
    out = []
    for line in text.splitlines():
        f = line.split("|")
        if len(f) == 13:
            del f[3]
        if len(f) < 6:
            continue
        out.append("%s|%s|%s|%s" % (f[0], f[2], f[3], f[5]))
    return sorted(out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "norm-gobgp":
        print("\n".join(norm_gobgp(sys.argv[2], sys.stdin.read())))
        return
    if cmd == "norm-bgpdump":
        print("\n".join(norm_bgpdump(sys.stdin.read(), *sys.argv[2:3])))
        return
    if cmd == "norm-json":
        print("\n".join(norm_json(sys.stdin.read())))
        return
    if cmd == "norm-state":
        print("\n".join(norm_state(sys.stdin.read())))
        return
    name = sys.argv[2]
    if name not in DAEMONS:
        sys.exit("harness: unknown daemon %s" % name)
    if cmd == "info":
        print(src(name), asn(name))
        return
    if cmd == "expect":
        print("\n".join(expect(name, sys.argv[3])))
        return
    d = os.path.join(sys.argv[3], name)
    os.makedirs(d, exist_ok=True)
    g = globals()
    if cmd == "start":
        caddr, cport = sys.argv[4].rsplit(":", 1)
        caddr = caddr.strip("[]")
        open(os.path.join(d, "collector"), "w").write("%s %s %s\n" % (caddr, cport, sys.argv[5]))
        g[name + "_start"](name, d, caddr, int(cport), int(sys.argv[5]))
    elif cmd in ("withdraw", "down"):
        g[name + "_" + cmd](name, d)
    elif cmd == "stop":
        stop(d)
    else:
        sys.exit("harness: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
