#!/bin/sh
# certs.sh DIR: a throwaway PKI for the tls+tcp tests: a CA (ca.pem), a server certificate
# for 127.0.0.1 and localhost (server.pem, server.key), a client certificate (client.pem,
# client.key), each also as cert+key in one file (*-both.pem, what nng's
# NNG_OPT_TLS_CERT_KEY_FILE takes), and a certificate from a CA nobody trusts (rogue.pem).
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# sign NAME CN CA EXT: NAME.pem signed by CA.pem/CA.key with the extensions EXT
sign() {
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	printf '%s\n' "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
		-days 2 -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	cat "$1.pem" "$1.key" >"$1-both.pem"
	rm -f "$1.csr" "$1.ext"
}
ca() {
	key "$1.key"
	openssl req -new -x509 -key "$1.key" -subj "/CN=$2" -days 2 -sha256 -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
ca ca "brokerd test CA"
# DNS:127.0.0.1 too: mbedTLS 2.28 (Debian's libnng) matches a dialed address only against
# DNS names, never IP entries.
sign server localhost ca "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
sign client "brokerd test client" ca "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
ca rogueca "rogue CA"
sign rogue "rogue client" rogueca "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
