/*
 * secretmask — hides the values of Kubernetes Secrets in objects that are
 * shown to people (the dashboard's live/desired/predicted panels, the CLI's
 * `app diff`), the way Argo CD does (gitops-engine HideSecretData), so that
 * a reader sees which keys exist and that a value changed, never a byte of
 * the value.
 *
 * The objects of one resource are masked together: for each data key, the
 * distinct values found across the objects, in the order the objects are
 * given and then in the last-applied annotation of each, are replaced by
 * runs of '+' of 8, 12, 16, ... characters. Equal values get equal masks,
 * different values different ones; the mask of a value depends only on
 * which objects hold which equal values, so masking the same objects again
 * gives the same text. stringData is first folded into data (base64, as the
 * API server stores it) so a value given as stringData and the same value
 * in data mask alike. kubectl's last-applied-configuration annotation is
 * masked too (its data and stringData), or dropped when it is not valid
 * JSON.
 */
#ifndef BERTH_SECRETMASK_H
#define BERTH_SECRETMASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True when obj is a core/v1 Secret (apiVersion "v1", kind "Secret"). */
bool secretmask_is_secret(const json_t *obj);

/*
 * Masks objs[0..n) in place (NULL entries are skipped; objects that are not
 * Secrets are left alone). The caller passes private copies: the values are
 * overwritten. 0, BERR_NOMEM, or BERR_INVALID when a stringData value is not
 * a string.
 */
int secretmask_apply(json_t **objs, size_t n);

#endif
