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
  | 'ADDRESS_POOL_EXHAUSTED';

export class NetworkError extends BerthError {
  /** The interface the request was about (a link name), when there was one. */
  readonly ifname?: string;
  /** The network (its name), for pool errors. */
  readonly network?: string;
  /** The address concerned (ADDRESS_IN_USE: the one asked for). */
  readonly address?: string;
  /** The kernel's own explanation (netlink extended ack), when it gave one. */
  readonly kernelMessage?: string;

  constructor(code: NetworkErrorCode, message: string, detail: ErrorDetail & { ifname?: string; network?: string; address?: string; kernelMessage?: string } = {}) {
    super(code, message, { step: 'network', ...detail });
    if (detail.ifname !== undefined) this.ifname = detail.ifname;
    if (detail.network !== undefined) this.network = detail.network;
    if (detail.address !== undefined) this.address = detail.address;
    if (detail.kernelMessage !== undefined) this.kernelMessage = detail.kernelMessage;
  }
}
