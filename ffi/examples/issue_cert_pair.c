/*
 * Issues a certificate pair: a self-signed RSA-2048 CA, then a P-256 agent
 * key with a CSR that the CA turns into a client-and-server certificate.
 * Writes ca.pem, agent.pem and agent.key.pem into the output directory and
 * checks the agent certificate against the CA.
 *
 *   issue_cert_pair <output directory>
 *
 * Build: cc -std=c11 issue_cert_pair.c $(pkg-config --cflags --libs coffer)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer.h"

#define TRY(expr)                                                                                   \
    do {                                                                                            \
        coffer_status s_ = (expr);                                                                  \
        if (s_ != COFFER_OK) {                                                                      \
            fprintf(stderr, "%s failed: %u %s\n", #expr, (unsigned)s_, coffer_status_message(s_)); \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

#define TEXT(s) (const uint8_t *)(s), strlen(s)

static void write_file(const char *dir, const char *name, const coffer_bytes *b) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    printf("wrote %s (%zu bytes)\n", path, b->len);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];

    /* The CA: RSA-2048, may issue end-entity certificates only. */
    coffer_keypair *ca_key = NULL;
    coffer_certificate *ca = NULL;
    TRY(coffer_keypair_generate(COFFER_ALG_RSA_2048, &ca_key));
    TRY(coffer_certificate_self_signed_ca(ca_key, TEXT("CN=Acme Agents CA,O=Acme"), 3650, 0, &ca));

    /* The agent: a P-256 key and a CSR naming it. */
    coffer_keypair *agent_key = NULL;
    coffer_csr *csr = NULL;
    TRY(coffer_keypair_generate(COFFER_ALG_P256, &agent_key));
    coffer_san sans[2] = {{COFFER_SAN_DNS, TEXT("agent-7.acme.test")}, {COFFER_SAN_IP, TEXT("10.0.0.7")}};
    TRY(coffer_csr_new(agent_key, TEXT("CN=agent-7,O=Acme"), sans, 2, &csr));

    /* The CA issues from the CSR, copying its names. */
    coffer_certificate *agent = NULL;
    TRY(coffer_certificate_issue(ca, ca_key, csr, COFFER_LEAF_SERVER_AND_CLIENT, 90, NULL, 0, &agent));
    coffer_status verified = coffer_certificate_verify(agent, ca);
    printf("leaf verifies against the CA: %s\n", verified == COFFER_OK ? "ok" : coffer_status_message(verified));

    coffer_bytes ca_pem = {NULL, 0}, agent_pem = {NULL, 0}, key_pem = {NULL, 0}, subject = {NULL, 0};
    TRY(coffer_certificate_to_pem(ca, &ca_pem));
    TRY(coffer_certificate_to_pem(agent, &agent_pem));
    TRY(coffer_keypair_to_pkcs8_pem(agent_key, &key_pem));
    TRY(coffer_certificate_subject(agent, &subject));
    printf("issued: %.*s\n", (int)subject.len, (const char *)subject.data);
    write_file(dir, "ca.pem", &ca_pem);
    write_file(dir, "agent.pem", &agent_pem);
    write_file(dir, "agent.key.pem", &key_pem);

    coffer_bytes_free(&ca_pem);
    coffer_bytes_free(&agent_pem);
    coffer_bytes_free(&key_pem); /* zeroes the private key before freeing it */
    coffer_bytes_free(&subject);
    coffer_certificate_free(agent);
    coffer_csr_free(csr);
    coffer_keypair_free(agent_key);
    coffer_certificate_free(ca);
    coffer_keypair_free(ca_key);
    return verified == COFFER_OK ? 0 : 1;
}
