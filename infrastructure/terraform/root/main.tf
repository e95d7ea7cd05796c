# SrvThreds cloud environment root. The three environments (dev, staging,
# prod) share this file word for word; what differs is in terraform.tfvars
# (sizes, CIDRs) and in the backend configuration given to `terraform init`.
# What an environment is made of (networking, EKS, Atlas, Redis Cloud, CloudAMQP,
# ECR, the GitHub deploy role) is composed once, in modules/srvthreds-stack; this
# root pins the versions, configures the providers and passes its values through.
#
# Secrets are variables without defaults, marked sensitive, and come from
# TF_VAR_* environment variables (see ../../README.md); none is in a file.

terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.81"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
    mongodbatlas = {
      source  = "mongodb/mongodbatlas"
      version = "~> 1.26"
    }
    rediscloud = {
      source  = "RedisLabs/rediscloud"
      version = "~> 2.0"
    }
    cloudamqp = {
      source  = "cloudamqp/cloudamqp"
      version = "~> 1.32"
    }
  }

  # S3 state with DynamoDB locking, given at init time (partial configuration):
  #   terraform init -backend-config=backend.hcl
  # backend.hcl.example beside this file lists the keys.
  backend "s3" {}
}

locals {
  tags = {
    Project     = "srvthreds"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

provider "mongodbatlas" {
  public_key  = var.atlas_public_key
  private_key = var.atlas_private_key
}

provider "rediscloud" {
  api_key    = var.rediscloud_api_key
  secret_key = var.rediscloud_secret_key
}

provider "cloudamqp" {
  apikey = var.cloudamqp_api_key
}

module "stack" {
  source = "../../modules/srvthreds-stack"

  environment        = var.environment
  region             = var.region
  cluster_name       = var.cluster_name
  kubernetes_version = var.kubernetes_version
  tags               = local.tags

  vpc_cidr           = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway

  cluster_endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  cluster_admin_principal_arns         = var.cluster_admin_principal_arns
  node_groups                          = var.node_groups

  atlas_org_id                   = var.atlas_org_id
  mongodb_instance_size          = var.mongodb_instance_size
  mongodb_node_count             = var.mongodb_node_count
  mongodb_backup_enabled         = var.mongodb_backup_enabled
  mongodb_termination_protection = var.mongodb_termination_protection
  mongodb_private_endpoint       = var.mongodb_private_endpoint
  mongodb_username               = var.mongodb_username
  mongodb_password               = var.mongodb_password

  redis_deployment_cidr             = var.redis_deployment_cidr
  redis_multiple_availability_zones = var.redis_multiple_availability_zones
  redis_availability_zone_ids       = var.redis_availability_zone_ids
  redis_payment_method              = var.redis_payment_method
  redis_payment_card_type           = var.redis_payment_card_type
  redis_dataset_size_in_gb          = var.redis_dataset_size_in_gb
  redis_throughput_ops_per_second   = var.redis_throughput_ops_per_second
  redis_replication                 = var.redis_replication
  redis_password                    = var.redis_password

  rabbitmq_plan     = var.rabbitmq_plan
  rabbitmq_firewall = var.rabbitmq_firewall

  kubernetes_namespace           = var.kubernetes_namespace
  ecr_repositories               = var.ecr_repositories
  create_ecr_repositories        = var.create_ecr_repositories
  ecr_untagged_image_expiry_days = var.ecr_untagged_image_expiry_days
  ecr_keep_tagged_images         = var.ecr_keep_tagged_images
  ecr_force_delete               = var.ecr_force_delete

  github_repository           = var.github_repository
  github_build_refs           = var.github_build_refs
  create_github_oidc_provider = var.create_github_oidc_provider
  github_oidc_provider_arn    = var.github_oidc_provider_arn
}

# Before the stack module, this root called the five modules itself: these
# blocks carry a state written then over to the addresses inside module.stack,
# so its resources are kept, not destroyed and created again.
moved {
  from = module.networking
  to   = module.stack.module.networking
}

moved {
  from = module.eks
  to   = module.stack.module.eks
}

moved {
  from = module.mongodb_atlas
  to   = module.stack.module.mongodb_atlas
}

moved {
  from = module.redis_cloud
  to   = module.stack.module.redis_cloud
}

moved {
  from = module.cloudamqp
  to   = module.stack.module.cloudamqp
}
