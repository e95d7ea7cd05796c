# dev: the shared development cluster. Non-secret values only; the secrets
# come from TF_VAR_* environment variables (see ../../README.md).

environment        = "dev"
region             = "us-west-2"
cluster_name       = "srvthreds-dev"
kubernetes_version = "1.31"

# Network: two AZs and one NAT gateway keep dev cheap.
vpc_cidr           = "10.10.0.0/16"
az_count           = 2
single_nat_gateway = true

node_groups = {
  general = {
    instance_types = ["t3.large"]
    min_size       = 1
    max_size       = 3
    desired_size   = 2
    disk_size      = 50
    labels         = { workload = "general" }
  }
}

# MongoDB Atlas: the smallest dedicated tier.
mongodb_instance_size          = "M10"
mongodb_node_count             = 3
mongodb_backup_enabled         = false
mongodb_termination_protection = false
mongodb_private_endpoint       = false

# Redis Cloud: one small replicated database in one AZ.
redis_deployment_cidr             = "10.110.0.0/24"
redis_multiple_availability_zones = false
redis_availability_zone_ids       = []
redis_dataset_size_in_gb          = 1
redis_throughput_ops_per_second   = 1000

# CloudAMQP: a shared plan (no firewall on shared plans).
rabbitmq_plan     = "lemur"
rabbitmq_firewall = false

# ECR and GitHub's OIDC provider belong to the AWS account: prod creates them
# (see its terraform.tfvars), dev only refers to them. If dev has an account
# of its own, set both create_* to true.
create_ecr_repositories     = false
create_github_oidc_provider = false

# GitHub Actions: jobs in the GitHub environment `dev` and the build job on
# main (no environment; it pushes the images) may assume the deploy role.
# PLACEHOLDER repository, like the overlays' account id 123456789012.
github_repository = "example-org/srvthreds"
github_build_refs = ["refs/heads/main"]
