/* cmd_optimize.c — `kswarm optimize`: the cheapest node mix for each Karpenter NodePool with
 * its lower bound, the alternatives, the risks and the NodePool patch; right-sizing from
 * usage history; idle capacity and the top savings (cost/optimize.h, docs/OPTIMIZE.md). */
#include "base/common.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "cost/awsprice.h"
#include "cost/catalog.h"
#include "cost/optimize.h"
#include "cost/pricing.h"
#include "cost/rightsize.h"
#include "metrics/prom.h"
#include "world/world.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cmd_optimize_usage[] =
	"Usage: kswarm optimize [flags]\n\n"
	"For each Karpenter NodePool: the cheapest node mix that holds its pods (their requests,\n"
	"node selectors and the DaemonSet overhead of every node), found by bin packing over\n"
	"the instance types the pool allows or could allow, with a lower bound on the cost of\n"
	"any mix (an LP relaxation) and the gap to it; the alternatives (other sizes, families,\n"
	"architecture, capacity type) and why they lost; the risks; and the change as a\n"
	"NodePool merge patch. Cluster-wide: idle capacity, over-requested workloads (from usage\n"
	"history, with --prometheus) and the top savings. Nothing is changed in the cluster.\n\n"
	"Flags:\n"
	"      --snapshot FILE      work from a snapshot (kswarm snapshot) instead of the cluster\n"
	"      --nodepool NAME      only this NodePool\n"
	"      --prices FILE        on-demand prices from an AWS price-list offer file\n"
	"                           (AmazonEC2 .../REGION/index.json; docs/PRICING.md)\n"
	"      --spot-prices FILE   spot prices from `aws ec2 describe-spot-price-history` JSON\n"
	"      --overrides FILE     this cluster's discounts, Savings Plans, reserved capacity\n"
	"      --region R           the region to price (default us-east-1, the built-in\n"
	"                           snapshot's; another region needs --prices or --aws)\n"
	"      --aws                on-demand (Pricing GetProducts) and spot\n"
	"                           (EC2 DescribeSpotPriceHistory) prices of --region, live from\n"
	"                           AWS; credentials from AWS_ACCESS_KEY_ID,\n"
	"                           AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN\n"
	"      --aws-endpoint-pricing URL, --aws-endpoint-ec2 URL\n"
	"                           other endpoints for --aws (a VPC endpoint, a proxy; http(s))\n"
	"      --spot keep|prefer|never\n"
	"                           keep: the capacity types each pool allows (default);\n"
	"                           prefer: spot where every workload has 2+ replicas, no\n"
	"                           namespace is labelled env=prod(uction) and the types'\n"
	"                           interruption rate is under 15%%; never: on-demand only\n"
	"      --prometheus URL     container usage history for right-sizing (or\n"
	"                           $KSWARM_PROM_URL); VPA-style, 8 days\n"
	"  -o, --output text|json|yaml\n"
	"                           text (default): a table per NodePool and a verdict; json:\n"
	"                           docs/optimize.schema.json; yaml: the patched NodePools,\n"
	"                           ready for kubectl apply\n"
	"      --kubeconfig FILE, --context NAME\n\n"
	"Exit status: 0 when the report was made, 1 when it could not be, 2 for a bad flag.\n";

struct optimize_flags {
	struct cli_kube_flags k;
	const char *snapshot, *nodepool, *prices, *spot_prices, *overrides, *region;
	const char *prometheus, *output;
	const char *aws_endpoint_pricing, *aws_endpoint_ec2;
	bool aws;
	int spot;
};

static int parse_flags(int argc, char **argv, struct optimize_flags *f)
{
	for (int i = 1; i < argc; i++) {
		switch (cli_kube_flag(&f->k, argc, argv, &i, "optimize")) {
		case 0:
			break;
		case 1:
			continue;
		default:
			return -1;
		}
		const char *s = argv[i];
		bool has_val = i + 1 < argc;
		static const struct {
			const char *flag;
			size_t off;
		} vals[] = {
			{"--snapshot", offsetof(struct optimize_flags, snapshot)},
			{"--nodepool", offsetof(struct optimize_flags, nodepool)},
			{"--prices", offsetof(struct optimize_flags, prices)},
			{"--spot-prices", offsetof(struct optimize_flags, spot_prices)},
			{"--overrides", offsetof(struct optimize_flags, overrides)},
			{"--region", offsetof(struct optimize_flags, region)},
			{"--prometheus", offsetof(struct optimize_flags, prometheus)},
			{"--aws-endpoint-pricing",
			 offsetof(struct optimize_flags, aws_endpoint_pricing)},
			{"--aws-endpoint-ec2", offsetof(struct optimize_flags, aws_endpoint_ec2)},
			{"-o", offsetof(struct optimize_flags, output)},
			{"--output", offsetof(struct optimize_flags, output)},
		};
		bool done = false;
		for (size_t k = 0; k < KS_ARRAY_LEN(vals) && !done && has_val; k++) {
			if (strcmp(s, vals[k].flag))
				continue;
			*(const char **)((char *)f + vals[k].off) = argv[++i];
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(s, "--aws")) {
			f->aws = true;
		} else if (!strcmp(s, "--spot") && has_val) {
			f->spot = opt_spot_policy_parse(argv[++i]);
			if (f->spot < 0) {
				fprintf(stderr, "kswarm optimize: --spot takes keep, prefer or never, "
						"not '%s'\n", argv[i]);
				return -1;
			}
		} else if (!strncmp(s, "-o", 2) && s[2]) {
			f->output = s + 2 + (s[2] == '=');
		} else {
			fprintf(stderr, "kswarm optimize: %s '%s' (see 'kswarm help optimize')\n",
				s[0] == '-' ? (has_val || strncmp(s, "--", 2) ? "unknown flag"
									    : "a value is missing after")
					    : "unexpected argument",
				s);
			return -1;
		}
	}
	if (!f->prometheus && getenv("KSWARM_PROM_URL") && *getenv("KSWARM_PROM_URL"))
		f->prometheus = getenv("KSWARM_PROM_URL");
	if (!f->output)
		f->output = "text";
	if (strcmp(f->output, "text") && strcmp(f->output, "json") && strcmp(f->output, "yaml")) {
		fprintf(stderr, "kswarm optimize: -o takes text, json or yaml, not '%s'\n",
			f->output);
		return -1;
	}
	if (f->region && !f->prices && !f->aws && strcmp(f->region, COST_SNAPSHOT_REGION)) {
		fprintf(stderr,
			"kswarm optimize: --region %s needs --prices (an offer file for it) or "
			"--aws: the built-in prices are %s's\n", f->region, COST_SNAPSHOT_REGION);
		return -1;
	}
	if (!f->aws && (f->aws_endpoint_pricing || f->aws_endpoint_ec2)) {
		fprintf(stderr, "kswarm optimize: --aws-endpoint-* go with --aws\n");
		return -1;
	}
	return 0;
}

/* --aws: on-demand then spot prices of the region, live (cost/awsprice.h). */
static int load_aws_prices(const struct optimize_flags *f, struct cost_prices *prices)
{
	struct ks_err err = {0};
	struct aws_opts o = {.region = f->region ? f->region : COST_SNAPSHOT_REGION,
			     .pricing_url = f->aws_endpoint_pricing,
			     .ec2_url = f->aws_endpoint_ec2};
	if (aws_credentials_from_env(&o.creds, &err)) {
		fprintf(stderr, "kswarm optimize: --aws: %s\n", err.msg);
		return -1;
	}
	struct cost_offer_stats st = {0};
	size_t n = 0;
	if (cost_prices_fetch_ondemand(prices, &o, &st, &err) ||
	    cost_prices_fetch_spot(prices, &o, &n, &err)) {
		fprintf(stderr, "kswarm optimize: --aws: %s\n", err.msg);
		return -1;
	}
	fprintf(stderr, "kswarm optimize: %zu on-demand and %zu spot prices from AWS for %s "
			"(GetProducts %s, DescribeSpotPriceHistory)\n", st.priced, n, o.region,
		st.publication_date);
	return 0;
}

/* The catalog and the prices with every import and override the flags name. */
static int load_prices(const struct optimize_flags *f, struct cost_catalog **cat,
		       struct cost_prices **prices)
{
	struct ks_err err = {0};
	char *path = cost_catalog_default_path();
	int rc = cost_catalog_load(path, cat, &err);
	free(path);
	if (rc) {
		fprintf(stderr, "kswarm optimize: instance catalog: %s\n", err.msg);
		return -1;
	}
	*prices = cost_prices_from_catalog(*cat);
	if (f->prices) {
		struct cost_offer_stats st = {0};
		if (isatty(2))
			fprintf(stderr, "kswarm optimize: reading %s ...\n", f->prices);
		if (cost_prices_import_offer(*prices, f->prices, f->region, &st, &err)) {
			fprintf(stderr, "kswarm optimize: --prices: %s\n", err.msg);
			return -1;
		}
		fprintf(stderr, "kswarm optimize: %zu instance types priced from %s (%s, %s)\n",
			st.priced, f->prices, st.region, st.publication_date);
	}
	if (f->spot_prices) {
		size_t n = 0;
		if (cost_prices_import_spot_history(*prices, f->spot_prices, &n, &err)) {
			fprintf(stderr, "kswarm optimize: --spot-prices: %s\n", err.msg);
			return -1;
		}
	}
	if (f->aws && load_aws_prices(f, *prices))
		return -1;
	if (f->overrides) {
		struct cost_overrides *ov = NULL;
		if (cost_overrides_load(f->overrides, &ov, &err)) {
			fprintf(stderr, "kswarm optimize: --overrides: %s\n", err.msg);
			return -1;
		}
		cost_prices_set_overrides(*prices, ov);
	}
	return 0;
}

/* Usage history from Prometheus into a new set (NULL and a warning when it fails: the report
 * goes on without right-sizing). */
static struct rs_set *fetch_usage(const char *url, struct world *w)
{
	struct ks_err err = {0};
	struct rs_set *set = opt_usage_from_prometheus(w, url, &err);
	if (!set)
		fprintf(stderr, "kswarm optimize: reading usage from Prometheus %s: %s (going on "
				"without it)\n", url, err.msg);
	return set;
}

int cmd_optimize(int argc, char **argv)
{
	struct optimize_flags f = {.spot = OPT_SPOT_KEEP};
	if (parse_flags(argc, argv, &f))
		return CLI_USAGE;
	struct cost_catalog *cat = NULL;
	struct cost_prices *prices = NULL;
	struct world *w = world_new();
	struct rs_set *usage = NULL;
	struct kube_client c;
	bool connected = false;
	int status = CLI_FAIL;
	struct ks_err err = {0};
	if (load_prices(&f, &cat, &prices))
		goto out;
	if (cli_load_world(&f.k, f.snapshot, NULL, "optimize", w, &c, &connected))
		goto out;
	if (f.prometheus)
		usage = fetch_usage(f.prometheus, w);
	char *source = f.prometheus ? ks_asprintf("Prometheus %s", f.prometheus) : NULL;
	struct opt_opts o = {.cat = cat, .prices = prices, .nodepool = f.nodepool,
			     .spot = (enum opt_spot_policy)f.spot, .usage = usage,
			     .usage_source = source};
	struct opt_report rep;
	int rc = opt_run(w, &o, &rep, &err);
	free(source);
	if (rc) {
		fprintf(stderr, "kswarm optimize: %s\n", err.msg);
		goto out;
	}
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (!strcmp(f.output, "json")) {
		cJSON *j = opt_report_json(&rep);
		char *s = cJSON_Print(j);
		ks_buf_appendstr(&b, s);
		ks_buf_appendc(&b, '\n');
		cJSON_free(s);
		cJSON_Delete(j);
		rc = 0;
	} else if (!strcmp(f.output, "yaml")) {
		rc = opt_report_yaml(&b, &rep, &err);
	} else {
		opt_report_text(&b, &rep, isatty(1) && !getenv("NO_COLOR"));
		rc = 0;
	}
	if (rc)
		fprintf(stderr, "kswarm optimize: %s\n", err.msg);
	else if (fwrite(b.data, 1, b.len, stdout) == b.len && !fflush(stdout))
		status = CLI_OK;
	ks_buf_release(&b);
	opt_report_free(&rep);
out:
	rs_set_free(usage);
	world_free(w);
	cost_prices_free(prices);
	cost_catalog_free(cat);
	if (connected)
		kube_client_close(&c);
	return status;
}
