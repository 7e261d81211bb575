/**
 * The few libc calls Isla makes through koffi: open/close/read/write on the
 * TAP file descriptor, ioctl to attach and configure it, poll/ppoll to wait,
 * eventfd to wake a parked poll. Loaded lazily so importing the library on a
 * machine without koffi's binary (or outside Linux) does not fail.
 */
import koffi from "koffi"

/** Constants from Linux headers (x86_64 / aarch64 values agree for these). */
export const C = {
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  EFD_NONBLOCK: 0o4000,
  EFD_CLOEXEC: 0o2000000,
  TUNSETIFF: 0x400454ca,
  TUNSETOFFLOAD: 0x400454d0,
  TUNSETVNETHDRSZ: 0x400454d8,
  IFF_TAP: 0x0002,
  IFF_NO_PI: 0x1000,
  IFF_VNET_HDR: 0x4000,
  TUN_F_CSUM: 0x01,
  TUN_F_TSO4: 0x02,
  TUN_F_TSO6: 0x04,
  VIRTIO_NET_HDR_F_NEEDS_CSUM: 0x01,
  VIRTIO_NET_HDR_F_DATA_VALID: 0x02,
  VIRTIO_NET_HDR_GSO_TCPV4: 1,
  VIRTIO_NET_HDR_GSO_TCPV6: 4,
  IFF_MULTI_QUEUE: 0x0100,
  IFF_UP: 0x1,
  SIOCGIFFLAGS: 0x8913,
  SIOCSIFFLAGS: 0x8914,
  SIOCGIFMTU: 0x8921,
  SIOCSIFMTU: 0x8922,
  AF_INET: 2,
  SOCK_DGRAM: 2,
  POLLIN: 0x1,
  PR_SET_TIMERSLACK: 29,
  EAGAIN: 11,
  EINTR: 4,
  ENOENT: 2,
  EPERM: 1,
  EACCES: 13,
  EBUSY: 16,
  EINVAL: 22,
  EBADFD: 77,
  EIO: 5,
  ENODEV: 19,
  ENXIO: 6
} as const

/** Typed koffi bindings. */
export interface Libc {
  readonly open: (path: string, flags: number) => number
  readonly close: (fd: number) => number
  readonly read: (fd: number, buf: Uint8Array, n: number) => number
  readonly write: (fd: number, buf: Uint8Array, n: number) => number
  readonly ioctlPtr: (fd: number, request: number, arg: Uint8Array) => number
  /** ioctl with an integer argument passed by value (TUNSETOFFLOAD). */
  readonly ioctlInt: (fd: number, request: number, arg: number) => number
  readonly socket: (domain: number, type: number, protocol: number) => number
  readonly poll: (fds: Uint8Array, nfds: number, timeoutMs: number) => number
  readonly pollAsync: (fds: Uint8Array, nfds: number, timeoutMs: number, cb: (err: unknown, n: number) => void) => void
  readonly ppoll: (fds: Uint8Array, nfds: number, timespec: BigInt64Array, sigmask: null) => number
  readonly eventfd: (initval: number, flags: number) => number
  readonly prctl: (op: number, a: number, b: number, c: number, d: number) => number
  readonly errno: () => number
}

let cached: Libc | undefined

/** Loads libc through koffi once and returns the bindings. */
export const libc = (): Libc => {
  if (cached) return cached
  const lib = koffi.load("libc.so.6")
  const open = lib.func("int open(const char *path, int flags, ...)")
  const ioctl = lib.func("int ioctl(int fd, unsigned long request, ...)")
  const poll = lib.func("int poll(void *fds, unsigned long nfds, int timeout)")
  cached = {
    open: (path, flags) => open(path, flags, "int", 0) as number,
    close: lib.func("int close(int fd)") as (fd: number) => number,
    read: lib.func("long read(int fd, void *buf, unsigned long n)") as Libc["read"],
    write: lib.func("long write(int fd, const void *buf, unsigned long n)") as Libc["write"],
    ioctlPtr: (fd, request, arg) => ioctl(fd, request, "void *", arg) as number,
    ioctlInt: (fd, request, arg) => ioctl(fd, request, "unsigned long", arg) as number,
    socket: lib.func("int socket(int domain, int type, int protocol)") as Libc["socket"],
    poll: poll as Libc["poll"],
    pollAsync: (fds, nfds, timeout, cb) => poll.async(fds, nfds, timeout, cb),
    ppoll: lib.func("int ppoll(void *fds, unsigned long nfds, void *tmo, void *sigmask)") as Libc["ppoll"],
    eventfd: lib.func("int eventfd(unsigned int initval, int flags)") as Libc["eventfd"],
    prctl: lib.func(
      "int prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)"
    ) as Libc["prctl"],
    errno: () => koffi.errno()
  }
  return cached
}
