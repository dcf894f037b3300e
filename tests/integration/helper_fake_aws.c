/* helper_fake_aws.c — the AWS stand-in of tests/fake_aws.h as a program, for test_aws_cli.sh:
 *   helper_fake_aws pricing|ec2 REGION [STATUS:]FIXTURE...
 * serves the fixtures (under tests/fixtures/cost/aws/, status 200 unless given) to requests
 * in order, checking each as AWS would (SigV4 with the stand-in's key, the headers, the
 * filters or parameters for REGION). It prints its port on stdout, serves until stdin is
 * closed, then prints "requests N" and the problems found (exit 1 when there were any).
 * Not a test by itself: scripts/run-tests.sh runs only test_*. */
#include "testutil.h"
#include "fake_aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "pricing") && strcmp(argv[1], "ec2"))) {
		fprintf(stderr, "usage: helper_fake_aws pricing|ec2 REGION [STATUS:]FIXTURE...\n");
		return 2;
	}
	int n = argc - 3;
	struct fake_aws_step *steps = ks_calloc((size_t)n, sizeof *steps);
	for (int i = 0; i < n; i++) {
		const char *a = argv[3 + i], *colon = strchr(a, ':');
		steps[i].status = colon ? (unsigned)strtoul(a, NULL, 10) : 200;
		steps[i].fixture = colon ? colon + 1 : a;
	}
	bool ec2 = !strcmp(argv[1], "ec2");
	struct fake_aws fa = {.service = argv[1], .region = ec2 ? argv[2] : "us-east-1",
			      .price_region = argv[2], .steps = steps, .nsteps = n};
	fake_aws_start(&fa);
	printf("%d\n", fa.port);
	fflush(stdout);
	char buf[256];
	while (read(0, buf, sizeof buf) > 0)
		;
	fake_aws_stop(&fa);
	fprintf(stderr, "requests %d\n", fa.requests);
	if (fa.problems[0])
		fprintf(stderr, "problems: %s\n", fa.problems);
	free(steps);
	return fa.problems[0] ? 1 : 0;
}
