/**
 * Whether a connection comes from this machine. Decided on the socket's own address only: a header
 * such as X-Forwarded-For is whatever the client chose to send.
 */
import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (`::ffff:127.0.0.1`). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  if (isIP(ip) === 4) return ip.startsWith('127.');
  return isIP(ip) === 6 && /^(?:0{0,4}:){2,7}0{0,3}1$|^::1$/.test(ip);
}
