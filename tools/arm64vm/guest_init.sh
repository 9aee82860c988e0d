#!/bin/sh
# /init of the emulated arm64 machine (tools/arm64vm/). busybox sh, PID 1.
# build.sh puts this in the base image with no script; run.py fills in @SCRIPT@ and @ARGS@
# (shell-quoted) and lays it over the base one in its overlay archive.
# Console protocol (README.md): ==RTUI-START==, ==RTUI-ERR== lines, ==RTUI-EXIT rc==.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu
export HOME=/root LANG=C.UTF-8 PYTHONUTF8=1 PYTHONFAULTHANDLER=1 TERM=dumb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /root

uptime_s() { cut -d' ' -f1 /proc/uptime; }
finish() {
    poweroff -f                       # PSCI SYSTEM_OFF: QEMU exits
    echo o > /proc/sysrq-trigger      # fallback; if init dies, panic=-1 + -no-reboot end QEMU
}

SCRIPT=@SCRIPT@
if [ -z "$SCRIPT" ]; then
    echo "==RTUI-NOSCRIPT== kernel $(uname -r) up at $(uptime_s)s; this base image runs no script"
    finish
fi

# Keep kernel messages off the console while the script talks: a printk landing inside a
# line would corrupt the framing. dmesg is still dumped below when the script fails.
dmesg -n 1
cd /rtui || finish
# stderr goes through a FIFO and gets a prefix, so run.py can tell it from stdout.
mkfifo /tmp/rtui-stderr
sed 's/^/==RTUI-ERR== /' </tmp/rtui-stderr &
echo "==RTUI-START $(uptime_s)=="
python3.11 -B "$SCRIPT" @ARGS@ 2>/tmp/rtui-stderr
rc=$?
wait
echo "==RTUI-EXIT $rc $(uptime_s)=="
if [ "$rc" != 0 ]; then
    dmesg | tail -n 15
fi
finish
