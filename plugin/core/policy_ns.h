/* The annotation's XML namespace, shared by the parser and the hook's fast
 * path (which must not pull in libxml2). */
#ifndef DMG_POLICY_NS_H
#define DMG_POLICY_NS_H
#define DMG_POLICY_NS "urn:drbdmig:1"
#endif
