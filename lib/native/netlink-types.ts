// The addon's rtnetlink and network-namespace functions (native/addon/netlink.cc,
// netns.cc), typed apart from addon.ts so the network layer's contract reads in
// one place. Each throws an Error carrying code (EEXIST), errno, syscall
// ('rtnetlink RTM_NEWLINK', 'setns', …), ifname and, when the kernel explained
// itself, kernelMessage. Addresses are bytes in network order.

/** One link as RTM_GETLINK reports it. */
export interface NativeLink {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ('bridge', 'veth', …); '' for a device without one (lo, a physical NIC). */
  kind: string;
  /** The master's index (a bridge port's bridge); 0: none. */
  master: number;
  /** IFLA_LINK: a veth's peer index (in the peer's namespace); 0: none. */
  link: number;
  mtu: number;
  /** aa:bb:cc:dd:ee:ff, '' when the link has none. */
  mac: string;
  /** ifi_flags (IFF_UP = 1, IFF_LOWER_UP = 0x10000, …). */
  flags: number;
}

export interface NativeLinkCreate {
  name: string;
  kind: string;
  mtu?: number;
  mac?: Buffer;
  up?: boolean;
  /** The master's name (a bridge). */
  master?: string;
  /** A veth's other end; nsFd places it straight into that network namespace. */
  peer?: { name: string; nsFd?: number; mtu?: number; mac?: Buffer };
}

export interface NativeLinkChange {
  up?: boolean;
  mtu?: number;
  mac?: Buffer;
  /** The new master's name; '' leaves the master. */
  master?: string;
  /** The new name; with nsFd, the name in the target namespace. */
  newName?: string;
  /** Moves the link into this network namespace. */
  nsFd?: number;
}

export interface NativeRoute {
  family: 4 | 6;
  dst?: Buffer;
  /** 0: the default route. */
  prefix: number;
  gateway?: Buffer;
  ifname?: string;
  metric?: number;
}

/** What an nft batch said (nftables.cc): ok false means nft refused it, and none of it was applied. */
export interface NativeNftResult {
  ok: boolean;
  /** nft's output (JSON with `json`), e.g. of a list command. */
  output: string;
  /** nft's error messages, as the nft binary would print them. */
  error: string;
}

export interface NativeNftLibrary {
  /** The file dlopen()ed (absent only while a batch loads it). */
  soname?: string;
  /** Whether a batch tried to load it yet (it is loaded at first use). */
  tried: boolean;
  loaded: boolean;
  /** dlopen's reason, when it could not be loaded. */
  error?: string;
}

export interface NativeNetlink {
  /** A NETLINK_ROUTE socket (CLOEXEC) bound to the namespace of nsFd (-1: the caller's), made on a thread of its own. */
  netlinkOpen(nsFd: number): number;
  /** /proc/sys/net/<path> in the namespace of nsFd, read from a thread that joined it; with value: written. */
  netnsSysctl(nsFd: number, path: string, value?: string): string | undefined;
  netlinkAddLink(sock: number, spec: NativeLinkCreate): void;
  netlinkSetLink(sock: number, name: string, change: NativeLinkChange): void;
  netlinkDelLink(sock: number, name: string): void;
  /** One link by name (ENODEV when there is none), or all of them. */
  netlinkGetLinks(sock: number, name?: string): NativeLink[];
  netlinkAddAddress(sock: number, name: string, family: 4 | 6, address: Buffer, prefix: number, opts: { broadcast?: Buffer; nodad?: boolean }): void;
  netlinkAddRoute(sock: number, route: NativeRoute): void;
  netlinkSetBridgePort(sock: number, name: string, opts: { hairpin: boolean }): void;
  /** Binds (and closes) a socket of the protocol in the namespace: the port it got (0: any); EADDRINUSE when taken there. */
  netnsBindPort(nsFd: number, family: 4 | 6, protocol: 'tcp' | 'udp', address: Buffer | null, port: number): number;
  /**
   * One nft batch (nft syntax, or nft JSON with json: true) through libnftables,
   * on a thread inside the namespace of nsFd (-1: the caller's; keep the fd open
   * until it settles). Rejects with code NFTABLES_UNAVAILABLE when libnftables.so.1
   * cannot be loaded, or an errno (setns, socket).
   */
  nftRun(nsFd: number, commands: string, opts?: { json?: boolean; handles?: boolean; echo?: boolean }): Promise<NativeNftResult>;
  /** The library's state; a soname before the first batch loads another file (tests). */
  nftLibrary(soname?: string): NativeNftLibrary;
}
