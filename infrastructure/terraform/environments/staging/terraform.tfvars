# staging: pre-production, the same shape as prod at a smaller size.
# Non-secret values only; the secrets come from TF_VAR_* environment variables
# (see ../../README.md).

environment        = "staging"
region             = "us-west-2"
cluster_name       = "srvthreds-staging"
kubernetes_version = "1.31"

# Network: three AZs, one NAT gateway per AZ.
vpc_cidr           = "10.20.0.0/16"
az_count           = 3
single_nat_gateway = false

node_groups = {
  general = {
    instance_types = ["m5.large"]
    min_size       = 2
    max_size       = 4
    desired_size   = 2
    disk_size      = 50
    labels         = { workload = "general" }
  }
}

mongodb_instance_size          = "M20"
mongodb_node_count             = 3
mongodb_backup_enabled         = true
mongodb_termination_protection = false
mongodb_private_endpoint       = true

redis_deployment_cidr             = "10.120.0.0/24"
redis_multiple_availability_zones = false
redis_availability_zone_ids       = []
redis_dataset_size_in_gb          = 2
redis_throughput_ops_per_second   = 2500

# CloudAMQP: one dedicated node, behind the firewall.
rabbitmq_plan     = "bunny-1"
rabbitmq_firewall = true

# ECR and GitHub's OIDC provider belong to the AWS account: prod creates them
# (see its terraform.tfvars), staging only refers to them. If staging has an
# account of its own, set both create_* to true.
create_ecr_repositories     = false
create_github_oidc_provider = false

# GitHub Actions: only jobs in the GitHub environment `staging` (its
# protection rules apply) may assume the deploy role; the build job on main
# pushes with dev's. PLACEHOLDER repository, like the overlays' account id.
github_repository = "example-org/srvthreds"
github_build_refs = []
