// A port published from the host to the container: what bridge networks'
// mappings (network.ts) and pasta's forwards (user-network.ts) both are.
export interface ResolvedPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIp?: string;
}
