#!/usr/bin/env bash
# Stages the root file system of the Hanse image from this machine's Debian packages: the hanse
# binary, every shared library it links (as ldd resolves them), the name-service modules glibc
# loads at run time, gRPC's default root certificates, and a passwd entry for the unprivileged user `hanse` (uid 10001). No base
# image is pulled: the Containerfile copies this tree into an empty (scratch) image.
# Usage: build-rootfs.sh HANSE_BINARY OUT_DIR
set -euo pipefail
binary=$1
out=$2
rm -rf "$out"
mkdir -p "$out"/{usr/local/bin,etc,tmp,var/lib}
chmod 1777 "$out/tmp"
install -m 0755 "$binary" "$out/usr/local/bin/hanse"
command -v strip >/dev/null && strip --strip-debug "$out/usr/local/bin/hanse"
copy() {  # a file with its directory, following symlinks to the real file
  local f=$1
  mkdir -p "$out$(dirname "$f")"
  cp -L "$f" "$out$f"
}
libs=$(ldd "$binary" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}')
for lib in $libs; do copy "$lib"; done
for extra in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 \
             /lib/x86_64-linux-gnu/libresolv.so.2; do
  [ -e "$extra" ] && copy "$extra"
done
# gRPC's TLS channels load its default roots even when, as here, a custom verifier decides.
[ -e /usr/share/grpc/roots.pem ] && copy /usr/share/grpc/roots.pem
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nhanse:x:10001:10001:hanse:/var/lib/hanse:/usr/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nhanse:x:10001:\n' >"$out/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"
echo "staged $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
