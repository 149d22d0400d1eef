#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/diskpath.h"
#include "libvirt/xmlutil.h"

int
dmg_diskpath_set(const char *xml, size_t len, const struct dmg_disk_path *dp, size_t n,
		 char **out, size_t *outlen, struct dmg_error *err)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	xmlNode *root, *disk, *src;
	xmlChar *text = NULL;
	int size = 0, rc = 0;
	size_t i;

	*out = NULL;
	*outlen = 0;
	if ((rc = xmlutil_read(xml, len, &ctxt, &doc, err)) < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	for (i = 0; i < n && rc == 0; i++) {
		disk = root ? xmlutil_disk(root, dp[i].target) : NULL;
		src = disk ? xmlutil_child(disk, "source") : NULL;
		if (!src)
			rc = dmg_error_set(err, -ENOENT, "the domain XML has no disk %.32s with a <source>",
					   dp[i].target);
		else if (!xmlSetProp(src, BAD_CAST "dev", BAD_CAST dp[i].path))
			rc = dmg_error_set(err, -ENOMEM, "out of memory");
	}
	if (rc == 0) {
		/* unformatted: the document's own whitespace stays as it was */
		xmlDocDumpMemory(doc, &text, &size);
		if (!text || size <= 0 || !(*out = malloc((size_t)size + 1)))
			rc = dmg_error_set(err, -ENOMEM, "out of memory");
		else {
			memcpy(*out, text, (size_t)size);
			(*out)[size] = '\0';
			*outlen = (size_t)size;
		}
	}
	xmlFree(text);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
