/* test-access.c: the API's access decisions, without a socket or a store:
 * who administers, who owns a Profile, who may use its namespace. */
#include <sys/types.h>

#include "access.h"
#include "test.h"

int main(void) {
        const gid_t admin = 990, other_groups[] = { 100, 27 }, with_admin[] = { 100, 990 };
        /* Administrators: root; the admin group as primary or supplementary. */
        CHECK(access_is_admin(0, 0, NULL, 0, admin));
        CHECK(access_is_admin(0, 1000, NULL, 0, (gid_t) -1)); /* root even without an admin group */
        CHECK(access_is_admin(1000, admin, NULL, 0, admin));
        CHECK(access_is_admin(1000, 1000, with_admin, 2, admin));
        CHECK(!access_is_admin(1000, 1000, other_groups, 2, admin));
        CHECK(!access_is_admin(1000, 1000, NULL, 0, admin));
        /* No admin group configured: a user whose group is (gid_t) -1 is still nobody special. */
        CHECK(!access_is_admin(1000, (gid_t) -1, NULL, 0, (gid_t) -1));
        CHECK(!access_is_admin(1000, 1000, with_admin, 2, (gid_t) -1));

        json_t *p = json_pack("{s:{s:s}, s:{s:{s:s, s:s}}}", "metadata", "name", "team-a", "spec", "owner", "kind",
                              "User", "name", "alice");
        json_t *none = json_pack("{s:{s:s}, s:{}}", "metadata", "name", "team-x", "spec");
        json_t *cs = json_pack("[s, s]", "bob", "carol");
        /* The owner, exactly: no prefix, no case folding. */
        CHECK(access_owns("alice", false, p));
        CHECK(!access_owns("alic", false, p));
        CHECK(!access_owns("alice2", false, p));
        CHECK(!access_owns("Alice", false, p));
        CHECK(!access_owns("bob", false, p));
        CHECK(access_owns("bob", true, p)); /* administrators own everything */
        CHECK(!access_owns("alice", false, none));
        CHECK(!access_owns(NULL, false, p));
        /* Using a namespace: owner, contributors, administrators. */
        CHECK(access_may_use("alice", false, p, NULL));
        CHECK(access_may_use("bob", false, p, cs));
        CHECK(access_may_use("carol", false, p, cs));
        CHECK(!access_may_use("dave", false, p, cs));
        CHECK(!access_may_use("bo", false, p, cs));
        CHECK(!access_may_use("bob", false, p, NULL));
        CHECK(access_may_use("dave", true, p, NULL));
        /* A caller without a name ("uid:N") is nobody's owner or contributor. */
        CHECK(!access_may_use("uid:4242", false, p, cs));
        /* Contributors that are not strings are ignored, not matched. */
        json_t *odd = json_pack("[i, n, s]", 7, "bob");
        CHECK(access_may_use("bob", false, p, odd));
        CHECK(!access_may_use("7", false, p, odd));
        CHECK(!access_may_use("bob", false, NULL, cs));
        json_decref(odd);
        json_decref(cs);
        json_decref(none);
        json_decref(p);
        return test_summary("test-access");
}
