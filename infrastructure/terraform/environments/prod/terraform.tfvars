# prod: production. Non-secret values only; the secrets come from TF_VAR_*
# environment variables (see ../../README.md).

environment        = "prod"
region             = "us-west-2"
cluster_name       = "srvthreds-prod"
kubernetes_version = "1.31"

# Network: three AZs, one NAT gateway per AZ.
vpc_cidr           = "10.30.0.0/16"
az_count           = 3
single_nat_gateway = false

# Engine 3 replicas, agents 2 each, HPA up to 10/6/6: room to scale out.
node_groups = {
  general = {
    instance_types = ["m5.xlarge"]
    min_size       = 3
    max_size       = 10
    desired_size   = 3
    disk_size      = 100
    labels         = { workload = "general" }
  }
}

mongodb_instance_size          = "M30"
mongodb_node_count             = 3
mongodb_backup_enabled         = true
mongodb_termination_protection = true
mongodb_private_endpoint       = true

redis_deployment_cidr             = "10.130.0.0/24"
redis_multiple_availability_zones = true
redis_availability_zone_ids       = ["usw2-az1", "usw2-az2", "usw2-az3"]
redis_dataset_size_in_gb          = 5
redis_throughput_ops_per_second   = 10000

# CloudAMQP: a three-node dedicated cluster, behind the firewall.
rabbitmq_plan     = "bunny-3"
rabbitmq_firewall = true

# ECR and GitHub's OIDC provider belong to the AWS account (one provider per
# account, repository names unique per account and region): prod, the
# longest-lived environment, creates them and dev and staging refer to them.
# In a new account, apply prod before the others (their deploy roles trust
# this provider). If prod has an account of its own, keep these true there
# and set them true in the other environments' accounts too.
create_ecr_repositories     = true
create_github_oidc_provider = true

# GitHub Actions: only jobs in the GitHub environment `prod` (its protection
# rules apply) may assume the deploy role; the build job on main pushes with
# dev's. PLACEHOLDER repository, like the overlays' account id.
github_repository = "example-org/srvthreds"
github_build_refs = []
