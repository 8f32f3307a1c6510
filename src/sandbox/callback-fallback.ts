import { BlockList, isIP } from 'node:net'
import type { SandboxNetwork } from './bwrap.ts'

/** Addresses that lead back into the caller's own network namespace: loopback, and the unspecified address. */
const OWN_HOST = new BlockList()
OWN_HOST.addSubnet('127.0.0.0', 8, 'ipv4')
OWN_HOST.addAddress('0.0.0.0', 'ipv4')
OWN_HOST.addAddress('::1', 'ipv6')
OWN_HOST.addAddress('::', 'ipv6')

/**
 * Does `hostname` (a URL's hostname, IPv6 in brackets) name the caller's own loopback: `localhost` or a name under it,
 * 127.0.0.0/8, ::1 (also IPv4-mapped), or the unspecified address? Other names are not resolved here.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  const family = isIP(host)
  return family !== 0 && OWN_HOST.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Where a local bubblewrap sandbox calls back when no server answers on a sandbox socket of its data directory
 * (OMOI_CALLBACK_FALLBACK_URL): `<publicUrl>/api/v1`, which any node of the cluster serves — the way to a node on
 * another machine once every node of the sandbox's own machine is down. Undefined when the sandbox could not get there
 * anyway: no public URL, network `none`, or a public URL on loopback (the sandbox's network namespace has a loopback of
 * its own, and slirp4netns's gateway does not lead to the host's).
 */
export function callbackFallbackUrl(publicUrl: string | undefined, network: SandboxNetwork['kind']): string | undefined {
  if (!publicUrl || network !== 'nat' || isLoopbackHost(new URL(publicUrl).hostname)) return undefined
  return `${publicUrl.replace(/\/+$/, '')}/api/v1`
}
