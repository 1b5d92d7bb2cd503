// Package capture reads packet captures (pcap, pcapng, gzip-compressed
// either way, standard input) and decodes the TCP segments inside them.
package capture
