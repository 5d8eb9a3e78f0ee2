/* Fuzz target: model_app_parse/validate/to_json and model_project_parse/
 * validate with the project's rules evaluated against the app. The input is
 * (app, project) JSON split at 0xff; an empty project part uses the default
 * project. */
#include "fuzz_common.h"

#include "model.h"

int fuzz_model(const uint8_t *data, size_t size);

static void fuzz_model_rules(const struct model_project *proj, const struct model_app *app)
{
	char *reason = NULL;

	(void)model_project_permits_app(proj, app, &reason);
	free(reason);
	reason = NULL;
	(void)model_project_permits_resource(proj, "apps", "Deployment", true, &reason);
	free(reason);
	reason = NULL;
	(void)model_project_permits_resource(proj, "", "Namespace", false, &reason);
	free(reason);
	reason = NULL;
	(void)model_project_permits_source(proj, "https://github.com/argoproj/argocd-example-apps.git",
					   &reason);
	free(reason);
}

int fuzz_model(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	json_t *japp, *jproj, *back;
	struct model_app app;
	struct model_project proj;
	int have_app = 0, have_proj = 0;

	fuzz_split(data, size, &a, &b);
	japp = fuzz_json(&a);
	jproj = fuzz_json(&b);
	if (japp) {
		json_t *conv = json_deep_copy(japp);

		if (conv) {
			(void)model_convert_argocd(conv);
			json_decref(conv);
		}
		memset(&app, 0, sizeof app);
		if (model_app_parse(japp, &app) == 0) {
			have_app = 1;
			(void)model_app_validate(&app);
			back = model_app_to_json(&app, true);
			json_decref(back);
		}
	}
	memset(&proj, 0, sizeof proj);
	if (jproj && model_project_parse(jproj, &proj) == 0) {
		have_proj = 1;
		if (model_project_validate(&proj) == 0) {
			back = model_project_to_json(&proj);
			json_decref(back);
		}
	} else if (model_project_init_default(&proj, "berth") == 0) {
		have_proj = 1;
	}
	if (have_app && have_proj)
		fuzz_model_rules(&proj, &app);
	if (have_proj)
		model_project_release(&proj);
	if (have_app)
		model_app_release(&app);
	json_decref(japp);
	json_decref(jproj);
	return 0;
}

FUZZ_ENTRY(model)
