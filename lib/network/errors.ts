// The network layer's typed errors. Bad input (a malformed subnet, an address
// outside it) is a ConfigError naming the field; these are what only the
// running system can say: the kernel refused (NETWORK_FAILED, with errno, the
// netlink message and the interface), or an address pool said no.
import { BerthError, type ErrorDetail } from '../errors.js';

export type NetworkErrorCode =
  /** The kernel refused a netlink request, a setns or a sysctl write: errno/syscall/ifname say which. */
  | 'NETWORK_FAILED'
  /** A requested fixed address is leased to another container. */
  | 'ADDRESS_IN_USE'
  /** Every host address of the network's pool is leased. */
  | 'ADDRESS_POOL_EXHAUSTED'
  /** libnftables.so.1 could not be loaded (Debian: the libnftables1 package); NAT needs it. */
  | 'NFTABLES_UNAVAILABLE'
  /** nft refused a batch of berth's (nothing of the batch was applied): nftError says why. */
  | 'NFTABLES_FAILED'
  /** createNetwork: a network of that name exists (or is being made by another process). */
  | 'NETWORK_EXISTS'
  /** No network of that name in the state root. */
  | 'NETWORK_NOT_FOUND'
  /** removeNetwork: live containers hold addresses on it (`users`). */
  | 'NETWORK_IN_USE'
  /** createNetwork: the subnet overlaps another berth network's in the same network namespace (`network` names it). */
  | 'SUBNET_OVERLAP'
  /** A port mapping's host port is taken: by another container's mapping, or a socket in the namespace. */
  | 'PORT_IN_USE';

export class NetworkError extends BerthError {
  /** The interface the request was about (a link name), when there was one. */
  readonly ifname?: string;
  /** The network (its name), for pool errors. */
  readonly network?: string;
  /** The address concerned (ADDRESS_IN_USE: the one asked for). */
  readonly address?: string;
  /** The kernel's own explanation (netlink extended ack), when it gave one. */
  readonly kernelMessage?: string;
  /** NFTABLES_FAILED: what nft said, as the nft binary would print it. */
  readonly nftError?: string;
  /** NETWORK_IN_USE: the ids of the containers holding addresses; PORT_IN_USE: the mapping's owner when it is a container's. */
  readonly users?: string[];
  /** The config field the conflict is about (SUBNET_OVERLAP: subnet / ipv6.subnet; PORT_IN_USE: ports[i].hostPort). */
  readonly field?: string;

  constructor(
    code: NetworkErrorCode,
    message: string,
    detail: ErrorDetail & { ifname?: string; network?: string; address?: string; kernelMessage?: string; nftError?: string; users?: string[]; field?: string } = {},
  ) {
    const { ifname, network, address, kernelMessage, nftError, users, field, ...base } = detail;
    super(code, message, { step: 'network', ...base });
    if (ifname !== undefined) this.ifname = ifname;
    if (network !== undefined) this.network = network;
    if (address !== undefined) this.address = address;
    if (kernelMessage !== undefined) this.kernelMessage = kernelMessage;
    if (nftError !== undefined) this.nftError = nftError;
    if (users !== undefined) this.users = users;
    if (field !== undefined) this.field = field;
  }
}
