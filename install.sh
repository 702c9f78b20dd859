#!/bin/sh
# install.sh: install hookd on a systemd Linux VM in one command (SPEC §8).
# Idempotent: a second run changes nothing, and it never overwrites the config
# or the secrets file. Run `sh install.sh --help` for the options.
set -eu

usage() {
	cat <<'EOF'
Usage: sudo sh install.sh [--binary PATH] [--prefix DIR]
       sudo sh install.sh --uninstall [--prefix DIR]

Installs hookd as a systemd service:
  /usr/local/bin/hookd              the binary (from --binary, default the hookd beside install.sh)
  /etc/hookd/hookd.toml             config from config.example.toml, database in
                                    /var/lib/hookd; written only if absent (0640 root:hookd)
  /etc/hookd/hookd.env              secrets for *_env keys; written only if absent (0600 root)
  /var/lib/hookd                    the database directory (0750 hookd:hookd)
  /etc/systemd/system/hookd.service the hardened unit (from deploy/hookd.service)
creates the hookd system user, and enables and starts the service when systemd runs.

Options:
  --binary PATH  the hookd binary to install (default: hookd in install.sh's own
                 directory, wherever you run it from; `npm run build` makes it)
  --prefix DIR   install the files under DIR as a staging root and touch nothing else
                 on this host: no user, no chown, no systemctl (for tests and packaging)
  --uninstall    stop and disable the service, remove the binary and the unit; keep the
                 config (/etc/hookd), the data (/var/lib/hookd) and the hookd user
  -h, --help     this text
EOF
}

say() { printf '%s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}
bad_usage() {
	printf 'install.sh: %s\n\n' "$*" >&2
	usage >&2
	exit 2
}

BINARY=
PREFIX=
STAGED=no
UNINSTALL=no
while [ $# -gt 0 ]; do
	case $1 in
	--binary)
		[ $# -ge 2 ] || bad_usage "--binary needs a PATH"
		BINARY=$2
		shift 2
		;;
	--binary=*)
		BINARY=${1#--binary=}
		shift
		;;
	--prefix)
		[ $# -ge 2 ] || bad_usage "--prefix needs a DIR"
		PREFIX=$2
		STAGED=yes
		shift 2
		;;
	--prefix=*)
		PREFIX=${1#--prefix=}
		STAGED=yes
		shift
		;;
	--uninstall)
		UNINSTALL=yes
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) bad_usage "unknown option: $1" ;;
	esac
done

if [ "$STAGED" = yes ]; then
	[ -n "$PREFIX" ] || bad_usage "--prefix needs a non-empty DIR"
	mkdir -p -- "$PREFIX"
	PREFIX=$(cd -- "$PREFIX" && pwd -P)
	[ "$PREFIX" != / ] || PREFIX=
elif [ "$(id -u)" -ne 0 ]; then
	die "run as root (sudo sh install.sh …), or pass --prefix DIR to stage the files elsewhere"
fi

# Real host paths: the unit and the messages use these; files go to $PREFIX$path.
BIN=/usr/local/bin/hookd
ETC=/etc/hookd
CONF=$ETC/hookd.toml
ENVF=$ETC/hookd.env
DATA=/var/lib/hookd
UNIT=/etc/systemd/system/hookd.service
HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)

umask 022
TMPF=
trap 'if [ -n "$TMPF" ]; then rm -f -- "$TMPF"; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

systemd_runs() { [ "$STAGED" = no ] && [ -d /run/systemd/system ]; }

# put SRC DEST MODE: replace DEST by SRC through a temp file and a rename (so a
# running binary is never written into); nothing happens when they are identical.
# Sets CHANGED=yes when it wrote.
put() {
	if [ -f "$PREFIX$2" ] && cmp -s -- "$1" "$PREFIX$2"; then
		chmod "$3" -- "$PREFIX$2"
		say "unchanged $PREFIX$2"
		return 0
	fi
	verb=installed
	[ ! -e "$PREFIX$2" ] || verb=updated
	mkdir -p -- "$(dirname -- "$PREFIX$2")"
	TMPF=$PREFIX$2.install-tmp.$$
	cp -- "$1" "$TMPF"
	chmod "$3" -- "$TMPF"
	mv -f -- "$TMPF" "$PREFIX$2"
	TMPF=
	CHANGED=yes
	say "$verb $PREFIX$2 (mode $3)"
}

# --- uninstall -----------------------------------------------------------------
if [ "$UNINSTALL" = yes ]; then
	if systemd_runs && [ -e "$UNIT" ]; then
		systemctl disable --now hookd || say "warning: systemctl disable --now hookd failed; going on"
		say "stopped and disabled hookd.service"
	fi
	for f in "$UNIT" "$BIN"; do
		if [ -e "$PREFIX$f" ]; then
			rm -f -- "$PREFIX$f"
			say "removed $PREFIX$f"
		else
			say "already absent: $PREFIX$f"
		fi
	done
	if systemd_runs; then systemctl daemon-reload; fi
	say "kept $PREFIX$ETC (config and secrets) and $PREFIX$DATA (the database)"
	[ "$STAGED" = yes ] || say "kept the hookd user; to remove everything: rm -rf $ETC $DATA $UNIT.d && userdel hookd"
	exit 0
fi

# --- install -------------------------------------------------------------------
[ -f "$HERE/config.example.toml" ] || die "$HERE/config.example.toml is missing: run install.sh from a hookd checkout"
[ -f "$HERE/deploy/hookd.service" ] || die "$HERE/deploy/hookd.service is missing: run install.sh from a hookd checkout"
# The binary beside this script unless --binary says otherwise, so the result does not depend on
# the directory install.sh is run from (sudo sh /path/to/hookd/install.sh).
[ -n "$BINARY" ] || BINARY=$HERE/hookd
case $BINARY in */*) ;; *) BINARY=./$BINARY ;; esac
if [ ! -f "$BINARY" ]; then
	if command -v npm >/dev/null 2>&1; then
		die "no hookd binary at $BINARY: run \`npm run build\` in $HERE first (it writes $HERE/hookd), or pass --binary PATH"
	fi
	die "no hookd binary at $BINARY: pass --binary PATH to one built with \`npm run build\`"
fi
[ -x "$BINARY" ] || die "$BINARY is not executable (chmod +x it)"
VERSION=$("$BINARY" version 2>/dev/null) || die "$BINARY does not run on this machine (built for another architecture?)"
say "installing $VERSION"
CHANGED=no

# The user first, so the files below can be given to it.
if [ "$STAGED" = no ]; then
	if id hookd >/dev/null 2>&1; then
		say "kept existing user hookd"
	else
		command -v useradd >/dev/null 2>&1 || die "useradd not found: create a system user 'hookd' by hand, then run this again"
		nologin=/usr/sbin/nologin
		[ -x "$nologin" ] || nologin=/sbin/nologin
		[ -x "$nologin" ] || nologin=/bin/false
		if getent group hookd >/dev/null 2>&1; then
			useradd --system --gid hookd --home-dir "$DATA" --no-create-home --shell "$nologin" --comment "hookd webhook hub" hookd
		else
			useradd --system --user-group --home-dir "$DATA" --no-create-home --shell "$nologin" --comment "hookd webhook hub" hookd
		fi
		say "created system user hookd"
	fi
fi

put "$BINARY" "$BIN" 0755

if [ -d "$PREFIX$ETC" ]; then
	say "kept existing $PREFIX$ETC"
else
	mkdir -p -- "$PREFIX$ETC"
	chmod 0750 -- "$PREFIX$ETC"
	[ "$STAGED" = yes ] || chown root:hookd -- "$PREFIX$ETC"
	say "created $PREFIX$ETC (mode 0750)"
fi

if [ -e "$PREFIX$CONF" ]; then
	say "kept existing $PREFIX$CONF"
else
	TMPF=$PREFIX$CONF.install-tmp.$$
	sed '/^\[storage\]/,/^\[/ s|^path = .*|path = "/var/lib/hookd/hookd.db"|' "$HERE/config.example.toml" >"$TMPF"
	grep -q '^path = "/var/lib/hookd/hookd.db"$' "$TMPF" || die "could not set [storage] path in config.example.toml"
	chmod 0640 -- "$TMPF"
	[ "$STAGED" = yes ] || chown root:hookd -- "$TMPF"
	mv -- "$TMPF" "$PREFIX$CONF"
	TMPF=
	say "wrote $PREFIX$CONF from config.example.toml (database in $DATA; mode 0640)"
fi

if [ -e "$PREFIX$ENVF" ]; then
	say "kept existing $PREFIX$ENVF"
else
	TMPF=$PREFIX$ENVF.install-tmp.$$
	(umask 077 && : >"$TMPF")
	cat >"$TMPF" <<'EOF'
# /etc/hookd/hookd.env: environment for hookd.service (its EnvironmentFile=).
# systemd reads it as root before starting hookd; keep it mode 0600, owner root.
# install.sh wrote this once and never overwrites it.
#
# Put secrets here rather than in hookd.toml, and name them there with *_env keys:
#   [api] key_env = "HOOKD_API_KEY"                -> HOOKD_API_KEY=<a long random key>
#   [[sources]] secret_env = "HOOKD_PSFT_SECRET"   -> HOOKD_PSFT_SECRET=<the shared secret>
# One NAME=value per line, no "export"; quote values with spaces ("...").
# Then: systemctl restart hookd
#
#HOOKD_API_KEY=
#HOOKD_PSFT_SECRET=
#HOOKD_MONITOR_TOKEN=
#HOOKD_ERPOPS_SECRET=whsec_...
EOF
	chmod 0600 -- "$TMPF"
	mv -- "$TMPF" "$PREFIX$ENVF"
	TMPF=
	say "wrote $PREFIX$ENVF, a commented template for secrets (mode 0600)"
fi

if [ -d "$PREFIX$DATA" ]; then
	if [ "$STAGED" = yes ]; then
		say "kept existing $PREFIX$DATA (mode 0750 ensured)"
	else
		say "kept existing $DATA (mode 0750 and owner hookd:hookd ensured)"
	fi
else
	mkdir -p -- "$PREFIX$DATA"
	say "created $PREFIX$DATA"
fi
chmod 0750 -- "$PREFIX$DATA"
[ "$STAGED" = yes ] || chown hookd:hookd -- "$PREFIX$DATA"

put "$HERE/deploy/hookd.service" "$UNIT" 0644

# --- start ---------------------------------------------------------------------
if systemd_runs; then
	was_active=no
	if systemctl is-active --quiet hookd; then was_active=yes; fi
	systemctl daemon-reload
	systemctl enable --now hookd
	if [ "$was_active" = yes ] && [ "$CHANGED" = yes ]; then
		systemctl restart hookd
		say "restarted hookd.service (new binary or unit)"
	elif [ "$was_active" = yes ]; then
		say "hookd.service was already running; left it running"
	else
		say "enabled and started hookd.service"
	fi
	sleep 1
	if ! systemctl is-active --quiet hookd; then
		say "warning: hookd.service is not running; see: journalctl -u hookd -n 50"
	fi
	say ""
	say "Next: add an API key and your [[sources]] to $CONF, secrets to $ENVF,"
	say "then: systemctl restart hookd; journalctl -u hookd -f"
elif [ "$STAGED" = yes ]; then
	say ""
	say "Staged under ${PREFIX:-/}; the host was not touched (no user, no chown, no systemctl)."
else
	say ""
	say "systemd is not running here, so hookd was not started. Next steps:"
	say "  edit $CONF (API key, [[sources]]) and $ENVF (secrets)"
	say "  on a systemd host: systemctl daemon-reload && systemctl enable --now hookd"
	say "  or by hand, as root: cd $DATA && set -a && . $ENVF && set +a && exec runuser -u hookd -- $BIN serve --config $CONF"
fi
