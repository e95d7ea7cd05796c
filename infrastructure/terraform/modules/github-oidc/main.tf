# GitHub Actions' OIDC identity provider and the environment's deploy role:
# a workflow run whose token's `sub` is one of var.subjects assumes the role
# with its short-lived token (no AWS keys in GitHub), logs in to ECR, pushes
# and pulls the service images, describes the cluster for its kubeconfig, and
# edits the app's namespace through an EKS access entry. Nothing else.
#
# The provider is per account (one per issuer URL): when environments share
# an account, one of them creates it (create_provider = true) and the others
# refer to it (create_provider = false, provider_arn or the account's default
# ARN).

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81.0 made thumbprint_list optional (left out below).
      version = ">= 5.81.0"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  issuer_host = "token.actions.githubusercontent.com"

  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.github[0].arn : coalesce(
    var.provider_arn,
    "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.issuer_host}",
  )
}

# No thumbprint_list: IAM verifies GitHub's certificate against its library of
# trusted root CAs, not a thumbprint, and leaving the argument out is the
# provider's documented way (IAM then records one itself).
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 1 : 0

  url            = "https://${local.issuer_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

# --- The deploy role ---------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Exact subjects only (StringEquals, no wildcards): a GitHub environment
    # (repo:OWNER/REPO:environment:NAME) or a branch (…:ref:refs/heads/NAME).
    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = var.subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.role_name
  description          = "GitHub Actions deploys to ${var.cluster_name}: ECR push/pull, EKS describe, namespace edit"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = var.max_session_duration

  tags = var.tags
}

# What the deploy workflow does, and no more: the ECR login (an account-wide
# token, it cannot be scoped), pushing and pulling the service images, and
# DescribeCluster for the kubeconfig (the EKS token itself is a presigned STS
# GetCallerIdentity, which needs no permission).
data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPushPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "ecr:DescribeImages",
    ]
    resources = var.ecr_repository_arns
  }

  statement {
    sid       = "EksDescribe"
    actions   = ["eks:DescribeCluster"]
    resources = [var.cluster_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# --- Cluster access: an EKS access entry, scoped to the app's namespaces -----

# Needs the cluster's authentication mode API or API_AND_CONFIG_MAP (the eks
# module sets API).
resource "aws_eks_access_entry" "deploy" {
  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.deploy.arn
  type          = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "deploy" {
  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.deploy.arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/${var.cluster_access_policy}"

  access_scope {
    type       = "namespace"
    namespaces = var.namespaces
  }

  depends_on = [aws_eks_access_entry.deploy]
}
