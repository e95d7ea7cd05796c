# One SrvThreds environment: the VPC (networking), the EKS cluster in its
# private subnets, the managed data services (MongoDB Atlas, Redis Cloud,
# CloudAMQP) that admit the cluster's NAT addresses, the ECR repositories of
# the service images (ecr) and the GitHub Actions deploy role (github-oidc).
# The environment roots (environments/dev, staging, prod) call this module
# once and differ only in the values they pass (their terraform.tfvars).
#
# The ECR repositories and GitHub's OIDC provider belong to the AWS account,
# not to one environment: when the environments share an account, exactly one
# of them creates them (create_ecr_repositories, create_github_oidc_provider)
# and the others refer to them by name.
#
# No provider is configured here: the roots configure aws, mongodbatlas,
# rediscloud and cloudamqp (credentials, region, default tags) and pin their
# versions; this module and the ones it calls inherit those configurations.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
    tls = {
      source = "hashicorp/tls"
    }
    mongodbatlas = {
      source = "mongodb/mongodbatlas"
    }
    rediscloud = {
      source = "RedisLabs/rediscloud"
    }
    cloudamqp = {
      source = "cloudamqp/cloudamqp"
    }
  }
}

locals {
  # Outbound traffic of the cluster leaves through the NAT gateways: these are
  # the addresses the managed services admit.
  egress_cidrs = [for ip in module.networking.nat_public_ips : "${ip}/32"]
}

module "networking" {
  source = "../networking"

  name               = var.cluster_name
  cluster_name       = var.cluster_name
  vpc_cidr           = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  tags               = var.tags
}

module "eks" {
  source = "../eks"

  cluster_name                 = var.cluster_name
  kubernetes_version           = var.kubernetes_version
  subnet_ids                   = module.networking.private_subnet_ids
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  admin_principal_arns         = var.cluster_admin_principal_arns
  node_groups                  = var.node_groups
  tags                         = var.tags
}

module "mongodb_atlas" {
  source = "../mongodb-atlas"

  org_id                  = var.atlas_org_id
  project_name            = var.cluster_name
  cluster_name            = var.cluster_name
  environment             = var.environment
  region                  = var.region
  instance_size           = var.mongodb_instance_size
  node_count              = var.mongodb_node_count
  backup_enabled          = var.mongodb_backup_enabled
  termination_protection  = var.mongodb_termination_protection
  database_username       = var.mongodb_username
  database_password       = var.mongodb_password
  allowed_cidrs           = local.egress_cidrs
  enable_private_endpoint = var.mongodb_private_endpoint
  vpc_id                  = module.networking.vpc_id
  vpc_cidr_block          = module.networking.vpc_cidr_block
  subnet_ids              = module.networking.private_subnet_ids
  tags                    = var.tags
}

module "redis_cloud" {
  source = "../redis-cloud"

  subscription_name            = var.cluster_name
  region                       = var.region
  deployment_cidr              = var.redis_deployment_cidr
  multiple_availability_zones  = var.redis_multiple_availability_zones
  preferred_availability_zones = var.redis_availability_zone_ids
  payment_method               = var.redis_payment_method
  payment_card_type            = var.redis_payment_card_type
  dataset_size_in_gb           = var.redis_dataset_size_in_gb
  throughput_ops_per_second    = var.redis_throughput_ops_per_second
  replication                  = var.redis_replication
  database_password            = var.redis_password
  allowed_cidrs                = local.egress_cidrs
}

module "cloudamqp" {
  source = "../cloudamqp"

  instance_name = var.cluster_name
  environment   = var.environment
  region        = var.region
  plan          = var.rabbitmq_plan
  allowed_cidrs = var.rabbitmq_firewall ? local.egress_cidrs : []
}

module "ecr" {
  source = "../ecr"

  repositories               = var.ecr_repositories
  create_repositories        = var.create_ecr_repositories
  untagged_image_expiry_days = var.ecr_untagged_image_expiry_days
  keep_tagged_images         = var.ecr_keep_tagged_images
  force_delete               = var.ecr_force_delete
  tags                       = var.tags
}

locals {
  # Who may assume the deploy role: jobs in the GitHub environment of the
  # same name, and jobs without an environment on the given refs (the build
  # job that pushes the images).
  github_subjects = concat(
    ["repo:${var.github_repository}:environment:${var.environment}"],
    [for ref in var.github_build_refs : "repo:${var.github_repository}:ref:${ref}"],
  )
}

module "github_oidc" {
  source = "../github-oidc"

  create_provider     = var.create_github_oidc_provider
  provider_arn        = var.github_oidc_provider_arn
  role_name           = "${var.cluster_name}-github-deploy"
  subjects            = local.github_subjects
  ecr_repository_arns = values(module.ecr.repository_arns)
  cluster_name        = module.eks.cluster_name
  cluster_arn         = module.eks.cluster_arn
  namespaces          = [var.kubernetes_namespace]
  tags                = var.tags
}
