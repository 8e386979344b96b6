/*
 * seal.c - private keys in etcd only sealed (see fleet.h): the store key
 * from store_key_file, AES-256-GCM through OpenSSL's EVP interface.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mailcert/crypto.h"
#include "mailcert/fleet.h"

#define SEAL_MAGIC "MCS1"
#define SEAL_MAGIC_LEN 4
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_MAX ((size_t)1024 * 1024)
#define KEYFILE_MAX 128

/* seal_key_text - decode the key file's text (raw, hex or base64). */
static int
seal_key_text(const char *path, const unsigned char *buf, size_t n,
              unsigned char key[MC_FLEET_KEY_LEN], struct mc_err *err)
{
	unsigned char *raw = NULL;
	char text[KEYFILE_MAX + 1];
	size_t len = 0, i;

	if (n == MC_FLEET_KEY_LEN) {
		memcpy(key, buf, n);
		return 0;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	memcpy(text, buf, n);
	text[n] = '\0';
	if (n == 2 * MC_FLEET_KEY_LEN && strspn(text, "0123456789abcdefABCDEF") == n) {
		for (i = 0; i < MC_FLEET_KEY_LEN; i++) {
			unsigned v;

			sscanf(text + 2 * i, "%2x", &v);
			key[i] = (unsigned char)v;
		}
		OPENSSL_cleanse(text, sizeof(text));
		return 0;
	}
	if (n == 44 && mc_b64url_decode(text, &raw, &len, NULL) == 0 &&
	    len == MC_FLEET_KEY_LEN) {
		memcpy(key, raw, len);
		OPENSSL_clear_free(raw, len);
		OPENSSL_cleanse(text, sizeof(text));
		return 0;
	}
	if (raw != NULL)
		OPENSSL_clear_free(raw, len);
	OPENSSL_cleanse(text, sizeof(text));
	return mc_err_set(err, MC_ERR_CONFIG,
	                  "store_key_file %s: not a 32-byte key (32 bytes, 64 "
	                  "hex digits or 44 base64 characters); make one with "
	                  "`openssl rand 32 > %s` and copy it to every host",
	                  path, path);
}

/* seal_key_stat - the key file must be ours (or root's) and private. */
static int
seal_key_stat(const char *path, int fd, struct mc_err *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return mc_err_errno(err, MC_ERR_CONFIG, "store_key_file %s",
		                    path);
	if (!S_ISREG(st.st_mode))
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "store_key_file %s is not a regular file", path);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "store_key_file %s belongs to uid %u, not to "
		                  "this user or root; chown it",
		                  path, (unsigned)st.st_uid);
	if ((st.st_mode & 077) != 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "store_key_file %s has mode %04o: others may "
		                  "read or change the key that seals every private "
		                  "key; run `chmod 600 %s`",
		                  path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* mc_fleet_key_load - read the 32-byte store key from path. */
int
mc_fleet_key_load(const char *path, unsigned char key[MC_FLEET_KEY_LEN],
                  struct mc_err *err)
{
	unsigned char buf[KEYFILE_MAX + 1];
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_CONFIG, "store_key_file %s",
		                    path);
	if (seal_key_stat(path, fd, err) == -1)
		goto out;
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		mc_err_errno(err, MC_ERR_CONFIG, "store_key_file %s", path);
		goto out;
	}
	if ((size_t)n > KEYFILE_MAX) {
		mc_err_set(err, MC_ERR_CONFIG,
		           "store_key_file %s is too long for a 32-byte key", path);
		goto out;
	}
	rc = seal_key_text(path, buf, (size_t)n, key, err);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* seal_aad - "mailcert-seal-v1\0ROLE\0NAME\0VERSION" into buf; its length. */
static size_t
seal_aad(const char *role, const char *name, unsigned version, char *buf,
         size_t size)
{
	int n = snprintf(buf, size, "mailcert-seal-v1%c%s%c%s%c%u", 0, role, 0,
	                 name, 0, version);

	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* seal_run - one AES-256-GCM pass (enc 1 seal, 0 open) over in into out;
 * the tag is written (seal) or checked (open). */
static int
seal_run(int enc, const unsigned char *key, const unsigned char *nonce,
         const char *aad, size_t aad_len, const unsigned char *in, size_t len,
         unsigned char *out, unsigned char *tag, struct mc_err *err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, rc = -1;

	if (ctx == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	                        NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	                     (int)aad_len) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	                                 tag) != 1)) {
		mc_err_openssl(err, "AES-256-GCM");
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
		mc_err_set(err, MC_ERR_INPUT, "the authentication tag does not "
		                              "match");
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	                               tag) != 1) {
		mc_err_openssl(err, "AES-256-GCM tag");
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* mc_fleet_seal - AES-256-GCM of pt with AAD (role, name, version). */
int
mc_fleet_seal(const unsigned char key[MC_FLEET_KEY_LEN], const char *role,
              const char *name, unsigned version, const unsigned char *pt,
              size_t len, unsigned char **out, size_t *out_len,
              struct mc_err *err)
{
	size_t total = SEAL_MAGIC_LEN + SEAL_NONCE_LEN + len + SEAL_TAG_LEN;
	char aad[600];
	size_t aad_len = seal_aad(role, name, version, aad, sizeof(aad));
	unsigned char *buf, *nonce;

	if (aad_len == 0 || len > SEAL_MAX)
		return mc_err_set(err, MC_ERR_INPUT, "seal %s of %.200s: too long",
		                  role, name);
	buf = malloc(total);
	if (buf == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	memcpy(buf, SEAL_MAGIC, SEAL_MAGIC_LEN);
	nonce = buf + SEAL_MAGIC_LEN;
	if (RAND_bytes(nonce, SEAL_NONCE_LEN) != 1) {
		free(buf);
		return mc_err_openssl(err, "random nonce");
	}
	if (seal_run(1, key, nonce, aad, aad_len, pt, len,
	             nonce + SEAL_NONCE_LEN, buf + total - SEAL_TAG_LEN,
	             err) == -1) {
		OPENSSL_clear_free(buf, total);
		return mc_err_prefix(err, "seal %s of %.200s", role, name);
	}
	*out = buf;
	*out_len = total;
	return 0;
}

/* mc_fleet_unseal - open a sealed value for (role, name, version). */
int
mc_fleet_unseal(const unsigned char key[MC_FLEET_KEY_LEN], const char *role,
                const char *name, unsigned version,
                const unsigned char *sealed, size_t len, unsigned char **out,
                size_t *out_len, struct mc_err *err)
{
	char aad[600];
	size_t aad_len = seal_aad(role, name, version, aad, sizeof(aad)), n;
	unsigned char tag[SEAL_TAG_LEN], *buf;

	if (aad_len == 0 || len < SEAL_MAGIC_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN ||
	    memcmp(sealed, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s of %.200s version %04u: not a sealed value",
		                  role, name, version);
	n = len - SEAL_MAGIC_LEN - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	buf = malloc(n + 1);
	if (buf == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	memcpy(tag, sealed + len - SEAL_TAG_LEN, SEAL_TAG_LEN);
	if (seal_run(0, key, sealed + SEAL_MAGIC_LEN, aad, aad_len,
	             sealed + SEAL_MAGIC_LEN + SEAL_NONCE_LEN, n, buf, tag,
	             err) == -1) {
		OPENSSL_clear_free(buf, n + 1);
		return mc_err_prefix(err,
		                     "%s of %.200s version %04u does not open with "
		                     "store_key_file (another key, or sealed for "
		                     "another cert or version)",
		                     role, name, version);
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}
